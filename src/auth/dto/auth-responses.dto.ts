import { ApiProperty } from '@nestjs/swagger';

export class UserDto {
  @ApiProperty({ format: 'uuid', example: '3f0c2a9e-8b1d-4c7e-9a55-2d4b6e8f1a03' })
  id: string;

  @ApiProperty({ example: '+251911234567', description: 'E.164' })
  phoneNumber: string;

  @ApiProperty({ example: '2026-01-01T00:00:00.000Z', nullable: true, type: String })
  phoneVerifiedAt: string | null;

  @ApiProperty({ example: false })
  twoFactorEnabled: boolean;
}

export class TokensResponseDto {
  @ApiProperty({
    description: 'JWT for `Authorization: Bearer …` (Swagger: Authorize → access-token)',
    example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl',
  })
  accessToken: string;

  @ApiProperty({
    description: 'Opaque, single use: POST it to /auth/refresh for a new pair',
    example: 'rt_N3v8qY1xPz0aR5tW2mK7cJ4hL9sB6dF1gE3uV8yX2qA',
  })
  refreshToken: string;

  @ApiProperty({ enum: ['Bearer'], example: 'Bearer' })
  tokenType: 'Bearer';

  @ApiProperty({ description: 'Seconds until the access token expires', example: 900 })
  expiresIn: number;

  @ApiProperty({ type: UserDto })
  user: UserDto;
}

export class TwoFactorChallengeDto {
  @ApiProperty({ enum: [true], example: true })
  twoFactorRequired: true;

  @ApiProperty({
    description:
      'Short-lived; send it to /auth/login/2fa with a two_factor code sent to the account number',
    example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4iLCJ0eXAiOiIyZmEifQ.c2lnbmF0dXJl',
  })
  twoFactorToken: string;
}
