import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches, MaxLength } from 'class-validator';
import { PHONE_NUMBER_MAX_LENGTH } from '../phone.service';
import { IsPhoneNumberText } from './phone-number-text';

export class ValidatePhoneDto {
  @ApiProperty({
    description:
      'E.164 (+251911234567), 00 + country code (00251911234567), or national digits ' +
      '(0911234567) with countryCode. Spaces, dashes, dots and parentheses are ignored.',
    example: '+251 91 123 4567',
    maxLength: PHONE_NUMBER_MAX_LENGTH,
  })
  @IsPhoneNumberText()
  @MaxLength(PHONE_NUMBER_MAX_LENGTH)
  phoneNumber: string;

  @ApiPropertyOptional({
    description:
      'ISO 3166-1 alpha-2 country of national digits; default DEFAULT_COUNTRY_CODE. ' +
      'Must be one of GET /phone/countries.',
    example: 'ET',
  })
  @IsOptional()
  @Matches(/^[A-Za-z]{2}$/, { message: 'countryCode must be a two-letter ISO country code' })
  countryCode?: string;
}
