import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { CountryCode, PhoneNumberType } from 'libphonenumber-js/max';
import type { PhoneErrorCode } from '../phone.errors';
import { PHONE_NUMBER_TYPES, PhoneInspection } from '../phone.service';

const REASON_CODES: PhoneErrorCode[] = [
  'PHONE_INVALID',
  'PHONE_COUNTRY_NOT_SUPPORTED',
  'PHONE_TYPE_NOT_ALLOWED',
];

export class PhoneValidationResponseDto implements PhoneInspection {
  @ApiProperty({
    description: 'A real phone number, whether or not it can receive SMS codes',
    example: true,
  })
  valid: boolean;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'E.164 form, the one key for every spelling; null when not valid',
    example: '+251911234567',
  })
  e164: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'ISO 3166-1 alpha-2 country detected from the number',
    example: 'ET',
  })
  country: CountryCode | null;

  @ApiProperty({
    enum: PHONE_NUMBER_TYPES,
    enumName: 'PhoneNumberType',
    nullable: true,
    description: 'Line type; FIXED_LINE_OR_MOBILE where the numbering plan cannot tell',
    example: 'MOBILE',
  })
  type: PhoneNumberType | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'As dialled inside the country',
    example: '091 123 4567',
  })
  national: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'As dialled from abroad',
    example: '+251 91 123 4567',
  })
  international: string | null;

  @ApiProperty({
    description: 'Verification codes can be sent to it: valid, supported country, SMS-capable line',
    example: true,
  })
  smsCapable: boolean;

  @ApiPropertyOptional({
    description: 'Why codes cannot be sent to it; absent when smsCapable',
    example: 'Landline numbers cannot receive SMS codes. Use a mobile number.',
  })
  reason?: string;

  @ApiPropertyOptional({
    enum: REASON_CODES,
    description: 'Machine code of the reason, as the error code send-verification would answer',
    example: 'PHONE_TYPE_NOT_ALLOWED',
  })
  reasonCode?: PhoneErrorCode;
}
