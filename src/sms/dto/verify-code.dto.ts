import { ApiHideProperty, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PURPOSES, Purpose } from '../../common/purpose';
import { IsPhoneNumberText } from '../../phone/dto/phone-number-text';

export class VerifyCodeDto {
  @ApiProperty({ example: '+251911234567', maxLength: 32 })
  @IsPhoneNumberText()
  @MaxLength(32)
  phoneNumber: string;

  @ApiProperty({ description: 'The code from the SMS: 4-10 digits', example: '123456' })
  @IsString()
  @Matches(/^[0-9]{4,10}$/, { message: 'code must be 4 to 10 digits' })
  code: string;

  @ApiProperty({ enum: PURPOSES, example: 'registration' })
  @IsIn(PURPOSES)
  purpose: Purpose;

  @ApiPropertyOptional({ example: 'ET' })
  @IsOptional()
  @Matches(/^[A-Za-z]{2}$/, { message: 'countryCode must be a two-letter ISO country code' })
  countryCode?: string;

  @ApiHideProperty()
  @Allow()
  twilioConfig?: unknown;
}
