import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Configuration } from '../config/configuration';
import { Clock, SystemClock } from './clock';
import { SmsEvents } from './events/sms-events';
import { Hasher } from './hasher';
import { CryptoRandomSource, RandomSource } from './random';
import { RecurringJobs } from './recurring-jobs';

@Global()
@Module({
  providers: [
    { provide: Clock, useClass: SystemClock },
    SmsEvents,
    { provide: RandomSource, useClass: CryptoRandomSource },
    RecurringJobs,
    {
      provide: Hasher,
      inject: [ConfigService],
      useFactory: (config: ConfigService<Configuration, true>) =>
        new Hasher(
          config.get('security', { infer: true }).hashSecret,
          config.get('app', { infer: true }).clientIpv6PrefixLength,
        ),
    },
  ],
  exports: [Clock, RandomSource, Hasher, SmsEvents, RecurringJobs],
})
export class CommonModule {}
