import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ConfigModule } from '@nestjs/config';
import { ScheduleModule } from '@nestjs/schedule';
import { AnalyticsModule } from './analytics/analytics.module';
import { AuthModule } from './auth/auth.module';
import { JwtAuthGuard } from './auth/jwt-auth.guard';
import { CommonModule } from './common/common.module';
import { HttpExceptionFilter } from './common/errors/http-exception.filter';
import { Configuration } from './config/configuration';
import { DashboardModule } from './dashboard/dashboard.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { OperatorModule } from './operator/operator.module';
import { PhoneModule } from './phone/phone.module';
import { HttpThrottlerGuard } from './rate-limit/http-throttler';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { RedisModule } from './redis/redis.module';
import { RetentionModule } from './retention/retention.module';
import { SmsModule } from './sms/sms.module';

@Module({})
export class AppModule {
  /** The whole service, built from an already validated configuration (see loadConfiguration). */
  static register(configuration: Configuration): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          skipProcessEnv: true,
          load: [() => configuration],
        }),
        // Nest owns the periodic jobs' timers (common/recurring-jobs.ts): their registry, cleared at
        // shutdown.
        ScheduleModule.forRoot(),
        CommonModule,
        DatabaseModule.forRoot(),
        RedisModule,
        OperatorModule,
        HealthModule,
        PhoneModule,
        RateLimitModule,
        SmsModule,
        AnalyticsModule,
        MetricsModule.register(configuration.metrics),
        AuthModule,
        DashboardModule,
        RetentionModule,
      ],
      // Every route's guards, in the order they run (then a route's own, such as the SMS routes'
      // SmsRateLimitGuard): the per-IP throttle before anything costlier, then the access token
      // (deny by default; @Public() routes pass). One filter answers every error in the envelope.
      // Fastify hooks, the validation pipe and Swagger are set up in app.setup.ts.
      providers: [
        { provide: APP_GUARD, useClass: HttpThrottlerGuard },
        { provide: APP_GUARD, useClass: JwtAuthGuard },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
      ],
    };
  }
}
