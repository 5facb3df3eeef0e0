import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import {
  CountryCodeProperty,
  EXAMPLE_PASSWORD,
  NewPasswordProperty,
  PhoneNumberProperty,
  PhoneProofDto,
} from './phone-number.fields';
import { SmsProofDto } from './sms-proof.dto';
import { Check, VERIFICATION_TOKEN, smsCodeProblem } from './validation';

/** Proof for purpose `registration`. */
export class RegisterDto extends PhoneProofDto {
  @NewPasswordProperty()
  password: string;
}

export class LoginDto {
  @PhoneNumberProperty()
  phoneNumber: string;

  @CountryCodeProperty()
  countryCode?: string;

  @ApiProperty({ example: EXAMPLE_PASSWORD })
  @IsString()
  @MaxLength(1024)
  password: string;
}

/** Proof for purpose `two_factor`, sent to the account's number. */
export class LoginTwoFactorDto extends SmsProofDto {
  @ApiProperty({
    description: 'The twoFactorToken /auth/login returned (valid 5 minutes by default)',
    example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4iLCJ0eXAiOiIyZmEifQ.c2lnbmF0dXJl',
  })
  @IsString()
  @MaxLength(2048)
  twoFactorToken: string;
}

/** Proof for purpose `login`. */
export class LoginSmsDto extends PhoneProofDto {}

/** Proof for purpose `password_reset`. */
export class ResetPasswordSmsDto extends PhoneProofDto {
  @NewPasswordProperty()
  newPassword: string;
}

export class RefreshTokenDto {
  @ApiProperty({
    description: 'The refreshToken of the session; single use, each answer carries the next one',
    example: 'rt_N3v8qY1xPz0aR5tW2mK7cJ4hL9sB6dF1gE3uV8yX2qA',
  })
  @IsString()
  @MaxLength(256)
  refreshToken: string;
}

/** Proof for purpose `two_factor`, sent to the account's number. */
export class TwoFactorChangeDto extends SmsProofDto {}

/**
 * Adding a number is adding an authenticator (NIST 800-63B §6.1.2): current authentication
 * (the password, or a fresh `two_factor` proof for the current number) plus proof of the new
 * number (purpose `registration`: it must not be on any account).
 */
export class ChangePhoneDto extends SmsProofDto {
  @PhoneNumberProperty('The new number: E.164, or national digits with countryCode')
  newPhoneNumber: string;

  @CountryCodeProperty()
  countryCode?: string;

  @ApiPropertyOptional({
    description: 'The current password. Send this, or currentCode / currentVerificationToken.',
    example: EXAMPLE_PASSWORD,
  })
  @Check('currentAuthentication', (value, body) => {
    const given = [value, body.currentCode, body.currentVerificationToken].filter(
      (field) => field !== undefined,
    ).length;
    if (given === 0) {
      return 'currentPassword, currentCode or currentVerificationToken is required';
    }
    if (given > 1) return 'send one of currentPassword, currentCode or currentVerificationToken';
    if (value !== undefined && (typeof value !== 'string' || value.length > 1024)) {
      return 'currentPassword must be a string';
    }
    return undefined;
  })
  currentPassword?: string;

  @ApiPropertyOptional({
    description: 'A two_factor code sent to the current number, instead of currentPassword',
    example: '123456',
  })
  @IsOptional()
  @Check('currentSmsCode', (value, body) =>
    value === undefined
      ? undefined
      : smsCodeProblem('currentCode', 'currentVerificationToken', 'two_factor')(value, body),
  )
  currentCode?: string;

  @ApiPropertyOptional({
    description: 'The verification_token of a two_factor code for the current number',
  })
  @IsOptional()
  @IsString()
  @Matches(VERIFICATION_TOKEN, {
    message: 'currentVerificationToken must be the verification_token from /sms/verify-code',
  })
  currentVerificationToken?: string;
}
