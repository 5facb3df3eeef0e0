import { Transform } from 'class-transformer';
import { IsBoolean, Matches } from 'class-validator';
import { toBoolean, toTrimmed } from '../common/environment-transforms';

const COUNTRY_LIST = /^[A-Za-z]{2}(\s*,\s*[A-Za-z]{2})*$/;

/** Where codes may go (phone.config.ts, docs/PRODUCT.md). */
export class PhoneEnvironment {
  @Transform(toTrimmed)
  @Matches(/^[A-Za-z]{2}$/, { message: 'DEFAULT_COUNTRY_CODE must be an ISO 3166-1 alpha-2 code' })
  DEFAULT_COUNTRY_CODE = 'ET';

  @Transform(toTrimmed)
  @Matches(COUNTRY_LIST, {
    message: 'SUPPORTED_COUNTRIES must be comma-separated ISO 3166-1 alpha-2 codes, e.g. ET,US',
  })
  SUPPORTED_COUNTRIES = 'ET,US,GB,CA,AU';

  @Transform(toBoolean)
  @IsBoolean()
  SMS_ALLOW_VOIP = false;
}
