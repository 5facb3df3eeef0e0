import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The error envelope of every 4xx and 5xx (docs/PRODUCT.md#errors), for Swagger. */
export class ErrorEnvelopeDto {
  @ApiProperty({ example: false })
  success: false;

  @ApiProperty({ example: 'phoneNumber must be a string' })
  message: string;

  @ApiProperty({ example: 'VALIDATION_FAILED', description: 'Stable machine-readable code' })
  error: string;

  @ApiPropertyOptional({ type: [String], description: 'Each validation problem, when several' })
  details?: string[];
}

export class RateLimitedEnvelopeDto extends ErrorEnvelopeDto {
  @ApiProperty({ example: 'Rate limit exceeded. Please try again later.' })
  declare message: string;

  @ApiProperty({ example: 'RATE_LIMITED' })
  declare error: string;

  @ApiProperty({
    example: 734,
    description: 'Seconds to wait; also sent as the Retry-After header',
  })
  retryAfter: number;
}
