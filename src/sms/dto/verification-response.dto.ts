import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** Twilio's Verification resource, in the snake_case shape the SPA already reads. */
export class VerificationResponseDto {
  @ApiProperty({ example: 'AC131789d6616539423cfee4038cc9d8dc', nullable: true })
  account_sid: string | null;

  @ApiProperty({
    example: 'VE3f2a4c7a1b9d4e0f8a6b5c4d3e2f1a0b',
    description: "Twilio's VE… sid, or VE + 32 hex when we made the code",
  })
  sid: string;

  @ApiProperty({ example: 'VA0123456789abcdef0123456789abcdef', nullable: true })
  service_sid: string | null;

  @ApiProperty({ example: '+251911234567', description: 'The number in E.164' })
  to: string;

  @ApiProperty({ example: 'sms' })
  channel: 'sms';

  @ApiProperty({ enum: ['pending', 'approved'], example: 'pending' })
  status: 'pending' | 'approved';

  @ApiProperty({ example: false })
  valid: boolean;

  @ApiProperty({ example: '2026-01-01T00:00:00Z', description: 'UTC, whole seconds, as Twilio' })
  date_created: string;

  @ApiProperty({ example: '2026-01-01T00:00:00Z', description: 'UTC, whole seconds, as Twilio' })
  date_updated: string;

  @ApiPropertyOptional({
    description:
      'Only on approval: opaque, single-use, short-lived proof bound to this phone and purpose. ' +
      'Auth endpoints accept it instead of the code.',
    example: 'vt_Zk2m9Qe1c7WmB3y8oJv0Lr5xT4nKp6sA2dF9hG1jH3k',
  })
  verification_token?: string;
}
