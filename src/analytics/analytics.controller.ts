import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto';
import { OperatorRoute } from '../operator/operator-route.decorator';
import { AnalyticsService } from './analytics.service';
import { AnalyticsQueryDto } from './dto/analytics-query.dto';
import { Public } from '../auth/public.decorator';

const RATES = { deliveryRate: 0.97, verificationRate: 0.81, failureRate: 0.02 };

@ApiTags('operator')
@OperatorRoute()
@ApiBadRequestResponse({ type: ErrorEnvelopeDto, description: 'Bad filter or range' })
@Public()
@Controller('analytics/sms')
export class AnalyticsController {
  constructor(private readonly analytics: AnalyticsService) {}

  @Get('summary')
  @ApiOperation({
    summary: 'Counts per status, delivery and verification rates, response times, cost',
  })
  @ApiOkResponse({
    schema: {
      example: {
        range: { from: '2026-10-26T00:00:00.000Z', to: '2026-11-25T00:00:00.000Z' },
        counts: {
          sent: 1200,
          delivered: 1150,
          undelivered: 20,
          failed: 4,
          verified: 980,
          expired: 120,
          rateLimited: 37,
          suppressed: 12,
          held: 0,
        },
        ...RATES,
        responseTimeMs: { p50: 180, p95: 420, average: 210 },
        cost: { total: 60.5, estimatedShare: 0.1, source: 'mixed', perVerifiedUser: 0.0617 },
      },
    },
  })
  summary(@Query() query: AnalyticsQueryDto) {
    return this.analytics.summary(query);
  }

  @Get('success-rates')
  @ApiOperation({ summary: 'Delivery and verification rates over time and per purpose' })
  @ApiOkResponse({
    schema: {
      example: {
        groupBy: 'day',
        overTime: [
          { period: '2026-11-24T00:00:00.000Z', sent: 40, delivered: 39, verified: 33, ...RATES },
        ],
        perPurpose: [{ purpose: 'login', sent: 400, ...RATES }],
      },
    },
  })
  successRates(@Query() query: AnalyticsQueryDto) {
    return this.analytics.successRates(query);
  }

  @Get('costs')
  @ApiOperation({ summary: 'Spend over time and per country, and cost per verified user' })
  @ApiOkResponse({
    schema: {
      example: {
        groupBy: 'day',
        total: 60.5,
        estimatedShare: 0.1,
        source: 'mixed',
        perVerifiedUser: 0.0617,
        overTime: [{ period: '2026-11-24T00:00:00.000Z', cost: 2.05, sent: 41 }],
        perCountry: [{ country: 'ET', cost: 50, sent: 1000, perVerifiedUser: 0.061 }],
      },
    },
  })
  costs(@Query() query: AnalyticsQueryDto) {
    return this.analytics.costs(query);
  }

  @Get('countries')
  @ApiOperation({
    summary: 'Per country: sends, delivery, conversion, cost, and whether sends are held',
  })
  @ApiOkResponse({
    schema: {
      example: {
        countries: [
          {
            country: 'ET',
            sent: 1000,
            delivered: 960,
            verified: 820,
            ...RATES,
            cost: 50,
            held: false,
            holdMode: null,
          },
        ],
      },
    },
  })
  countries(@Query() query: AnalyticsQueryDto) {
    return this.analytics.countries(query);
  }

  @Get('failures')
  @ApiOperation({
    summary: 'Top error codes with their meaning, and recent failures (no phone numbers)',
  })
  @ApiOkResponse({
    schema: {
      example: {
        topErrors: [
          {
            errorCode: '30003',
            status: 'undelivered',
            count: 12,
            meaning: 'Unreachable destination handset',
          },
        ],
        recent: [
          {
            occurredAt: '2026-11-24T10:00:00.000Z',
            status: 'undelivered',
            errorCode: '30003',
            errorMessage: 'Unreachable destination handset',
            country: 'ET',
            purpose: 'login',
            channel: 'twilio-messaging',
          },
        ],
      },
    },
  })
  failures(@Query() query: AnalyticsQueryDto) {
    return this.analytics.failures(query);
  }
}
