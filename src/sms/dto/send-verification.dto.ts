import { ApiHideProperty, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PURPOSES, Purpose } from '../../common/purpose';
import { IsPhoneNumberText } from '../../phone/dto/phone-number-text';

export class SendVerificationDto {
  @ApiProperty({
    description: 'E.164 (+251911234567), or national digits (0911234567) with countryCode',
    example: '+251911234567',
    maxLength: 32,
  })
  @IsPhoneNumberText()
  @MaxLength(32)
  phoneNumber: string;

  @ApiProperty({ enum: PURPOSES, example: 'registration' })
  @IsIn(PURPOSES)
  purpose: Purpose;

  @ApiPropertyOptional({
    description: 'ISO 3166-1 alpha-2 country for national numbers; default DEFAULT_COUNTRY_CODE',
    example: 'ET',
  })
  @IsOptional()
  @Matches(/^[A-Za-z]{2}$/, { message: 'countryCode must be a two-letter ISO country code' })
  countryCode?: string;

  @ApiPropertyOptional({
    description:
      'Language of the SMS (en, am, fr). Else Accept-Language, else the country default (ET → am), else en.',
    example: 'am',
  })
  @IsOptional()
  @IsString()
  @MaxLength(35)
  locale?: string;

  /**
   * Sent by the SPA for compatibility. Never used, logged or stored: Twilio credentials come from
   * the server's environment only (docs/PRODUCT.md#twilioconfig).
   */
  @ApiHideProperty()
  @Allow()
  twilioConfig?: unknown;
}
