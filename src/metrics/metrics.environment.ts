import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';
import { toBoolean, toOptionalInteger, toTrimmed } from '../common/environment-transforms';

/** The Prometheus endpoint (metrics.config.ts). */
export class MetricsEnvironment {
  @Transform(toBoolean)
  @IsBoolean()
  METRICS_ENABLED = true;

  @Transform(toOptionalInteger)
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(65535)
  METRICS_PORT?: number;

  @Transform(toTrimmed)
  @IsString()
  METRICS_HOST = '127.0.0.1';
}
