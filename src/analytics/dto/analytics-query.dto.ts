import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, Matches } from 'class-validator';
import { PURPOSES, Purpose } from '../../common/purpose';

export const GROUP_BY = ['hour', 'day', 'week'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export class AnalyticsQueryDto {
  @ApiPropertyOptional({
    description: 'Start (ISO 8601, inclusive); default 30 days before `to`',
    example: '2026-10-26T00:00:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({
    description: 'End (ISO 8601, exclusive); default now',
    example: '2026-11-25T00:00:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;

  @ApiPropertyOptional({ enum: PURPOSES })
  @IsOptional()
  @IsIn(PURPOSES)
  purpose?: Purpose;

  @ApiPropertyOptional({ example: 'ET', description: 'ISO 3166-1 alpha-2' })
  @IsOptional()
  @Matches(/^[A-Z]{2}$/, { message: 'country must be a two-letter upper-case ISO country code' })
  country?: string;

  @ApiPropertyOptional({
    enum: GROUP_BY,
    default: 'day',
    description: 'Periods of the series (UTC; weeks start on Monday)',
  })
  @IsOptional()
  @IsIn(GROUP_BY)
  groupBy?: GroupBy;
}
