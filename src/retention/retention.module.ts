import { Module } from '@nestjs/common';
import { RetentionPurgesModule } from './retention-purges';
import { RetentionService } from './retention.service';

/** The scheduled purge; the modules owning the tables register what it deletes (RetentionPurges). */
@Module({
  imports: [RetentionPurgesModule],
  providers: [RetentionService],
  exports: [RetentionService],
})
export class RetentionModule {}
