import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { Check, VERIFICATION_TOKEN, smsCodeProblem } from './validation';

/**
 * Proof of the phone by SMS: the code itself, or the `verification_token` that
 * /sms/verify-code returned for it. Either is accepted once, for its phone and purpose only.
 */
export class SmsProofDto {
  @ApiPropertyOptional({
    description: 'The code from the SMS. Send this or verificationToken.',
    example: '123456',
    pattern: '^[0-9]{4,10}$',
  })
  @Check('smsCode', smsCodeProblem('code', 'verificationToken', 'SMS'))
  code?: string;

  @ApiPropertyOptional({
    description:
      'The verification_token /sms/verify-code returned for the right code: single use, ' +
      'short lived. Send this or code.',
    example: 'vt_Zk2m9Qe1c7WmB3y8oJv0Lr5xT4nKp6sA2dF9hG1jH3k',
  })
  @IsOptional()
  @Matches(VERIFICATION_TOKEN, {
    message: 'verificationToken must be the verification_token from /sms/verify-code',
  })
  verificationToken?: string;
}
