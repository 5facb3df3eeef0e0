import { Module, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../common/clock';
import { Configuration } from '../config/configuration';
import { RedisConnection } from '../redis/redis-connection';
import { RetentionPurges, RetentionPurgesModule } from '../retention/retention-purges';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SmsAbuseModule } from '../sms/abuse/sms-abuse.module';
import { DeliveryFilters } from '../sms/delivery-filters';
import { NumberHistory } from '../sms/number-history';
import { SmsModule } from '../sms/sms.module';
import { accountDeliveryFilter } from './account-delivery-filter';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { PasswordHasher } from './password/password-hasher';
import { PasswordPolicy, loadCommonPasswords } from './password/password-policy';
import { AccessTokenService } from './tokens/access-token.service';
import { RefreshTokenRepository } from './tokens/refresh-token.repository';
import { RefreshTokenService } from './tokens/refresh-token.service';
import {
  DatabaseSessionRevocations,
  RedisSessionRevocations,
  SessionRevocations,
} from './tokens/session-revocations';
import { RefreshToken } from './refresh-token.entity';
import { User } from './user.entity';
import { UserRepository } from './user.repository';

/**
 * Accounts, sessions and the auth flows on SMS verification. What JwtAuthGuard, which AppModule
 * sets on every route, needs to check an access token.
 */
@Module({
  // Every option is passed per call by AccessTokenService (secret, HS256, issuer, audience).
  imports: [
    TypeOrmModule.forFeature([User, RefreshToken]),
    SmsModule,
    SmsAbuseModule,
    RetentionPurgesModule,
    JwtModule.register({}),
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    UserRepository,
    AccessTokenService,
    RefreshTokenService,
    RefreshTokenRepository,
    PasswordHasher,
    { provide: PasswordPolicy, useFactory: () => new PasswordPolicy(loadCommonPasswords()) },
    {
      provide: SessionRevocations,
      inject: [RefreshTokenRepository, RedisConnection, Clock, ConfigService],
      useFactory: (
        tokens: RefreshTokenRepository,
        redis: RedisConnection,
        clock: Clock,
        config: ConfigService<Configuration, true>,
      ): SessionRevocations => {
        const database = new DatabaseSessionRevocations(tokens);
        if (!redis.client) return database;
        // Kept a minute longer than an access token can live, for clocks a little apart.
        const ttlSeconds = config.get('auth', { infer: true }).jwt.accessTtlSeconds + 60;
        return new RedisSessionRevocations(
          redis.client,
          redis.keyPrefix,
          ttlSeconds,
          database,
          clock,
        );
      },
    },
  ],
  exports: [AccessTokenService, SessionRevocations],
})
export class AuthModule implements OnModuleInit {
  constructor(
    private readonly filters: DeliveryFilters,
    private readonly history: NumberHistory,
    private readonly users: UserRepository,
    private readonly refreshTokens: RefreshTokenRepository,
    private readonly purges: RetentionPurges,
  ) {}

  onModuleInit(): void {
    this.filters.register('account', accountDeliveryFilter(this.users));
    // A number with an account has verified: a pumping hold must not keep its codes from it.
    this.history.register('account', async (phoneHash) => {
      return (await this.users.phoneStatus(phoneHash)) !== 'none';
    });
    this.purges.register(...this.refreshTokens.retentionPurges());
  }
}
