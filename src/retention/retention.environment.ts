import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { toInteger } from '../common/environment-transforms';

/** How long rows are kept and how the hourly purge deletes them (retention.config.ts). */
export class RetentionEnvironment {
  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(3_650)
  SMS_VERIFICATION_RETENTION_DAYS = 30;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(3_650)
  ANALYTICS_RETENTION_DAYS = 395;

  @Transform(toInteger)
  @IsInt()
  @Min(1_000)
  @Max(86_400_000)
  RETENTION_INTERVAL_MS = 3_600_000;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(100_000)
  RETENTION_BATCH_SIZE = 5_000;
}
