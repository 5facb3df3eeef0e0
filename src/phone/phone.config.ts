import { CountryCode, isSupportedCountry } from 'libphonenumber-js/max';
import { PhoneEnvironment } from './phone.environment';

export interface PhoneConfig {
  defaultCountry: CountryCode;
  supportedCountries: CountryCode[];
  /** Whether numbers libphonenumber classifies as VoIP may receive codes. */
  allowVoip: boolean;
}

function toCountry(code: string, variable: string, problems: string[]): CountryCode {
  const upper = code.trim().toUpperCase();
  if (!isSupportedCountry(upper)) problems.push(`${variable}: "${upper}" is not a known country`);
  return upper as CountryCode;
}

export function phoneConfigFromEnvironment(
  environment: PhoneEnvironment,
  problems: string[],
): PhoneConfig {
  const defaultCountry = toCountry(
    environment.DEFAULT_COUNTRY_CODE,
    'DEFAULT_COUNTRY_CODE',
    problems,
  );
  const supportedCountries = [
    ...new Set(
      environment.SUPPORTED_COUNTRIES.split(',').map((code) =>
        toCountry(code, 'SUPPORTED_COUNTRIES', problems),
      ),
    ),
  ];
  if (!supportedCountries.includes(defaultCountry)) {
    problems.push(
      `DEFAULT_COUNTRY_CODE: ${defaultCountry} is not in SUPPORTED_COUNTRIES (${supportedCountries.join(',')})`,
    );
  }
  return { defaultCountry, supportedCountries, allowVoip: environment.SMS_ALLOW_VOIP };
}
