import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsPhoneNumberText } from '../../phone/dto/phone-number-text';
import { SmsProofDto } from './sms-proof.dto';

/** The number the Swagger examples use; with SMS_TEST_NUMBERS=+251911234567:123456 they run as is. */
export const EXAMPLE_PHONE = '+251911234567';
export const EXAMPLE_PASSWORD = 'lantern-mosaic-47';

export function PhoneNumberProperty(description?: string): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      description:
        description ?? 'E.164 (+251911234567), or national digits (0911234567) with countryCode',
      example: EXAMPLE_PHONE,
      maxLength: 32,
    }),
    IsPhoneNumberText(),
    MaxLength(32),
  );
}

export function CountryCodeProperty(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      description: 'ISO 3166-1 alpha-2 country for national numbers; default DEFAULT_COUNTRY_CODE',
      example: 'ET',
    }),
    IsOptional(),
    Matches(/^[A-Za-z]{2}$/, { message: 'countryCode must be a two-letter ISO country code' }),
  );
}

/** A new password: the policy (8-128 characters, not a common one) is applied by the service. */
export function NewPasswordProperty(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      description:
        '8 to 128 characters, any characters including spaces and emoji; no composition rules. ' +
        'Common or predictable passwords are refused (PASSWORD_TOO_WEAK, details name the rule).',
      example: EXAMPLE_PASSWORD,
      minLength: 8,
      maxLength: 128,
    }),
    IsString(),
    MaxLength(1024),
  );
}

/** A phone number and an SMS proof for it. */
export class PhoneProofDto extends SmsProofDto {
  @PhoneNumberProperty()
  phoneNumber: string;

  @CountryCodeProperty()
  countryCode?: string;
}
