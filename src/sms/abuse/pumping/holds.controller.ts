import { Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe } from '@nestjs/common';
import {
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { Clock } from '../../../common/clock';
import { ErrorEnvelopeDto } from '../../../common/errors/error-envelope.dto';
import { ProductError } from '../../../common/errors/product-error';
import { OperatorRoute } from '../../../operator/operator-route.decorator';
import { PumpingGuardService } from './pumping-guard.service';
import { SmsHoldRepository } from './sms-hold.repository';
import { Public } from '../../../common/http/public.decorator';

class HoldDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({
    enum: ['prefix', 'country'],
    description:
      'prefix: one number range (the number minus its last 4 digits); country: all of it',
  })
  scope: string;

  @ApiProperty({ example: '+25191123····', description: 'The country, or the number range' })
  label: string;

  @ApiProperty({
    enum: ['enforced', 'shadow'],
    description:
      'enforced: numbers that verified before still get codes, others are answered as usual and ' +
      'get nothing; shadow: reported only, sends continue',
  })
  mode: string;

  @ApiProperty({ description: 'Codes sent in the window when the hold was placed' })
  sends: number;

  @ApiProperty({ description: 'Of those, verified' })
  verified: number;

  @ApiProperty({ example: 0.04 })
  conversion: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 31,
    description: 'Country holds: number ranges its unverified sends spanned; null for a range',
  })
  ranges: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 24,
    description:
      'Country holds: client networks (IPv4 /24, IPv6 /48) its unverified sends came from; null for a range',
  })
  networks: number | null;

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

@ApiTags('operator')
@OperatorRoute()
@Public()
@Controller('admin/sms/holds')
export class HoldsController {
  constructor(
    private readonly holds: SmsHoldRepository,
    private readonly clock: Clock,
    private readonly pumping: PumpingGuardService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Active SMS pumping holds (number ranges and countries)' })
  @ApiOkResponse({ type: HoldListDto })
  async list(): Promise<HoldListDto> {
    const holds = await this.holds.active(this.clock.now());
    return {
      holds: holds.map((hold) => ({
        id: hold.id,
        scope: hold.scope,
        label: hold.label,
        mode: hold.mode,
        sends: hold.sends,
        verified: hold.verified,
        conversion: hold.sends === 0 ? 0 : Math.round((hold.verified / hold.sends) * 1000) / 1000,
        ranges: hold.ranges,
        networks: hold.networks,
        createdAt: hold.createdAt.toISOString(),
        expiresAt: hold.expiresAt.toISOString(),
      })),
    };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Lift a hold: every number there gets its codes again at once' })
  @ApiNoContentResponse({ description: 'Lifted' })
  @ApiNotFoundResponse({ type: ErrorEnvelopeDto, description: 'No active hold with this id' })
  async lift(@Param('id', new ParseUUIDPipe({ version: '4' })) id: string): Promise<void> {
    if (!(await this.holds.lift(id, this.clock.now()))) throw new HoldNotFoundError();
    this.pumping.invalidate();
  }
}
