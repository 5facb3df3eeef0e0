import { Transform } from 'class-transformer';
import { IsOptional, IsString, MinLength } from 'class-validator';
import { toTrimmed } from './environment-transforms';

/** The HMAC key and the operator key (security.config.ts): secrets, so no error echoes them. */
export class SecurityEnvironment {
  @Transform(toTrimmed)
  @IsOptional()
  @IsString()
  @MinLength(32)
  HASH_SECRET?: string;

  @Transform(toTrimmed)
  @IsOptional()
  @IsString()
  @MinLength(32)
  ADMIN_API_KEY?: string;
}
