import { Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe } from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { Clock } from '../../common/clock';
import { ProductError } from '../../common/errors/product-error';
import { Sql } from '../../database/sql';
import { OperatorRoute } from '../../operator/operator-route.decorator';
import { PumpingGuardService } from './pumping-guard.service';
import { Public } from '../../auth/public.decorator';

class HoldDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ enum: ['country', 'prefix'] })
  scope: string;

  @ApiProperty({ example: '+25191123····', description: 'The country, or the number range' })
  label: string;

  @ApiProperty({ enum: ['enforced', 'shadow'], description: 'shadow: reported, sends continue' })
  mode: string;

  @ApiProperty({ description: 'Codes sent in the window when the hold was placed' })
  sends: number;

  @ApiProperty({ description: 'Of those, verified' })
  verified: number;

  @ApiProperty({ example: 0.04 })
  conversion: number;

  @ApiProperty()
  createdAt: string;

  @ApiProperty()
  expiresAt: string;
}

class HoldListDto {
  @ApiProperty({ type: [HoldDto] })
  holds: HoldDto[];
}

class HoldNotFoundError extends ProductError {
  constructor() {
    super('HOLD_NOT_FOUND', 'No active hold with this id.', 'not_found');
  }
}

interface HoldRow {
  id: string;
  scope: string;
  label: string;
  mode: string;
  sends: number;
  verified: number;
  created_at: Date;
  expires_at: Date;
}

@ApiTags('operator')
@OperatorRoute()
@Public()
@Controller('admin/sms/holds')
export class HoldsController {
  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
    private readonly pumping: PumpingGuardService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Active SMS pumping holds (countries and number ranges)' })
  @ApiOkResponse({ type: HoldListDto })
  async list(): Promise<HoldListDto> {
    const rows = await this.sql.rows<HoldRow>(
      `SELECT id, scope, label, mode, sends, verified, created_at, expires_at FROM sms_holds
        WHERE lifted_at IS NULL AND expires_at > $1 ORDER BY created_at DESC`,
      [this.clock.now()],
    );
    return {
      holds: rows.map((row) => ({
        id: row.id,
        scope: row.scope,
        label: row.label,
        mode: row.mode,
        sends: row.sends,
        verified: row.verified,
        conversion: row.sends === 0 ? 0 : Math.round((row.verified / row.sends) * 1000) / 1000,
        createdAt: row.created_at.toISOString(),
        expiresAt: row.expires_at.toISOString(),
      })),
    };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Lift a hold: sends to that country or range resume at once' })
  @ApiNoContentResponse({ description: 'Lifted' })
  async lift(@Param('id', new ParseUUIDPipe({ version: '4' })) id: string): Promise<void> {
    const lifted = await this.sql.rows(
      `UPDATE sms_holds SET lifted_at = $2 WHERE id = $1 AND lifted_at IS NULL RETURNING id`,
      [id, this.clock.now()],
    );
    if (lifted.length === 0) throw new HoldNotFoundError();
    this.pumping.invalidate();
  }
}
