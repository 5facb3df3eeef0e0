import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { toBoolean, toInteger, toTrimmed } from '../common/environment-transforms';

/** A PostgreSQL URL; analytics' own database is one too. */
export const POSTGRES_URL = /^postgres(ql)?:\/\/.+/;

/** The main PostgreSQL database, or the embedded one in DATA_DIR (database.config.ts). */
export class DatabaseEnvironment {
  @Transform(toTrimmed)
  @IsOptional()
  @Matches(POSTGRES_URL, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  @Transform(toInteger)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  @Transform(toInteger)
  @IsInt()
  @Min(100)
  DATABASE_STATEMENT_TIMEOUT_MS = 5_000;

  @Transform(toBoolean)
  @IsBoolean()
  DATABASE_MIGRATIONS_RUN = true;

  @Transform(toTrimmed)
  @IsString()
  DATA_DIR = './data';
}
