import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { toTrimmed } from '../common/environment-transforms';

const REDIS_URL = /^rediss?:\/\/.+/;
/** The shape only; redis.config.ts checks each entry's host and port. */
const HOST_PORT_LIST = /^[^\s,]+:\d+(\s*,\s*[^\s,]+:\d+)*$/;

/** One Redis or a Redis Cluster (redis.config.ts). */
export class RedisEnvironment {
  @Transform(toTrimmed)
  @IsOptional()
  @Matches(REDIS_URL, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @Transform(toTrimmed)
  @IsOptional()
  @Matches(HOST_PORT_LIST, {
    message:
      'REDIS_CLUSTER_NODES must be comma-separated host:port entries, e.g. 10.0.0.1:6379,10.0.0.2:6379',
  })
  REDIS_CLUSTER_NODES?: string;

  @Transform(toTrimmed)
  @IsString()
  @MaxLength(64)
  REDIS_KEY_PREFIX = 'sms:';
}
