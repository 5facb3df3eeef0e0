import { Module } from '@nestjs/common';
import { AnalyticsModule } from '../analytics/analytics.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { RetentionService } from './retention.service';

@Module({
  imports: [AnalyticsModule, RateLimitModule],
  providers: [RetentionService],
  exports: [RetentionService],
})
export class RetentionModule {}
