import { ConfigService } from '@nestjs/config';
import { Configuration } from '../../src/config/configuration';
import { PhoneConfig } from '../../src/phone/phone.config';
import { PhoneService } from '../../src/phone/phone.service';

/** A PhoneService on Ethiopia by default and five supported countries, as the unit specs use. */
export function createPhoneService(overrides: Partial<PhoneConfig> = {}): PhoneService {
  const phone: PhoneConfig = {
    defaultCountry: 'ET',
    supportedCountries: ['ET', 'US', 'GB', 'CA', 'AU'],
    allowVoip: false,
    ...overrides,
  };
  return new PhoneService(new ConfigService<Configuration, true>({ phone }));
}
