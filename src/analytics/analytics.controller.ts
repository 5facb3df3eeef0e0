import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto';
import { OperatorRoute } from '../operator/operator-route.decorator';
import { AnalyticsService } from './analytics.service';
import { AnalyticsQueryDto } from './dto/analytics-query.dto';
import { Public } from '../common/http/public.decorator';

const RATES = { deliveryRate: 0.97, verificationRate: 0.81, failureRate: 0.02 };

const COUNTING =
  'Counts are of real sends only: test numbers (SMS_TEST_NUMBERS) have `test_*` statuses of ' +
  'their own (`testNumbers`), suppressed sends are `suppressed`, and a code accepted by an auth ' +
  'endpoint that then refused the request is `refused` (layer `auth`), not verified. ' +
  '`deliveryRate` is over the sends whose delivery Twilio reports (Messaging status ' +
  'callbacks): Twilio Verify has no per-message callback, so it is null ("not tracked") when ' +
  'every send of the group went through Verify; `untrackedSends` says how many did.';

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
    description:
      `${COUNTING} Response times are of the SMS and auth requests that recorded an event, each ` +
      'request once; p50 and p95 are read from a histogram (`approximate`: the upper bound of ' +
      'the bucket they fall in, at most 25 % above the true value, 1 ms below 10 ms). ' +
      '`rateLimitedByLayer` splits `rateLimited` by the limit that refused (the labels of ' +
      'sms_rate_limit_rejections_total); `securityByKind` splits `securityIncidents` ' +
      '(sms_security_incidents_total), code-check and password limits being counted in both.',
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
          wrongCodes: 41,
          refused: 3,
          securityIncidents: 9,
        },
        testNumbers: { sent: 25, verified: 24, expired: 1 },
        ...RATES,
        delivery: { trackedSends: 1200, untrackedSends: 0 },
        rateLimitedByLayer: [
          { layer: 'cooldown', count: 30 },
          { layer: 'verify-phone', count: 7 },
        ],
        heldByLayer: [],
        refusedByLayer: [{ layer: 'country', count: 3 }],
        securityByKind: [
          { kind: 'code-attempts', count: 2 },
          { kind: 'verify-phone', count: 7 },
          { kind: 'verify-phone-ceiling', count: 0 },
          { kind: 'verify-ip', count: 0 },
          { kind: 'password-phone', count: 0 },
          { kind: 'password-phone-ceiling', count: 0 },
          { kind: 'password-ip', count: 0 },
          { kind: 'webhook-signature', count: 0 },
        ],
        responseTimeMs: { p50: 180, p95: 450, average: 210, approximate: true },
        cost: {
          total: 60.5,
          currency: 'USD',
          estimatedShare: 0.1,
          source: 'mixed',
          perVerifiedUser: 0.0617,
        },
      },
    },
  })
  summary(@Query() query: AnalyticsQueryDto) {
    return this.analytics.summary(query);
  }

  @Get('success-rates')
  @ApiOperation({
    summary: 'Delivery and verification rates over time and per purpose',
    description: COUNTING,
  })
  @ApiOkResponse({
    schema: {
      example: {
        groupBy: 'day',
        overTime: [
          {
            period: '2026-11-24T00:00:00.000Z',
            sent: 40,
            delivered: 39,
            verified: 33,
            untrackedSends: 0,
            ...RATES,
          },
        ],
        perPurpose: [{ purpose: 'login', sent: 400, verified: 324, untrackedSends: 0, ...RATES }],
      },
    },
  })
  successRates(@Query() query: AnalyticsQueryDto) {
    return this.analytics.successRates(query);
  }

  @Get('costs')
  @ApiOperation({
    summary: 'Spend over time and per country, and cost per verified user',
    description:
      'Amounts are in `currency` (SMS_BUDGET_CURRENCY): the price table estimate, replaced by ' +
      "Twilio's price once known when Twilio prices in that currency.",
  })
  @ApiOkResponse({
    schema: {
      example: {
        groupBy: 'day',
        total: 60.5,
        currency: 'USD',
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
    description: COUNTING,
  })
  @ApiOkResponse({
    schema: {
      example: {
        currency: 'USD',
        countries: [
          {
            country: 'ET',
            sent: 1000,
            delivered: 960,
            verified: 820,
            untrackedSends: 0,
            ...RATES,
            cost: 50,
            refused: 0,
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
    description:
      'Failed and undelivered sends, wrong codes (`wrong_code`), refused numbers and proofs ' +
      '(`refused`) and security incidents recorded as such (`security`): a guessing attack ' +
      'shows here as wrong codes and VERIFICATION_ATTEMPTS_EXCEEDED.',
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

  @Get('security')
  @ApiOperation({
    summary: 'Security incidents by kind, over time and per country, with the wrong codes',
    description:
      "Kinds: `code-attempts` (the wrong code that used up its verification's attempts, and any " +
      'check refused for it), `verify-phone`, `verify-phone-ceiling` and `verify-ip` (code checks ' +
      'refused by SMS_VERIFY_PHONE_LIMIT per number and client, SMS_VERIFY_PHONE_CEILING per number ' +
      'and SMS_VERIFY_IP_LIMIT), `password-phone`, `password-phone-ceiling` and `password-ip` ' +
      '(password attempts refused by AUTH_PASSWORD_ATTEMPTS_LIMIT per number and client, ' +
      'AUTH_PASSWORD_ATTEMPTS_CEILING per number and AUTH_PASSWORD_IP_ATTEMPTS_LIMIT), ' +
      '`webhook-signature` (a Twilio callback with a bad ' +
      'signature). The same counts as sms_security_incidents_total; the alert is ' +
      'ALERT_SECURITY_INCIDENTS_PER_HOUR. Rows hold HMACs of numbers and IPs, never the values.',
  })
  @ApiOkResponse({
    schema: {
      example: {
        range: { from: '2026-10-26T00:00:00.000Z', to: '2026-11-25T00:00:00.000Z' },
        groupBy: 'day',
        total: 9,
        byKind: [
          {
            kind: 'code-attempts',
            count: 2,
            meaning: "A code check that used up its verification's wrong-code attempts",
          },
          {
            kind: 'verify-phone',
            count: 7,
            meaning: 'Code checks for one number refused by SMS_VERIFY_PHONE_LIMIT',
          },
        ],
        wrongCodes: 41,
        refusedByLayer: [{ layer: 'country', count: 3 }],
        overTime: [
          {
            period: '2026-11-24T00:00:00.000Z',
            total: 9,
            wrongCodes: 41,
            byKind: { 'code-attempts': 2, 'verify-phone': 7 },
          },
        ],
        perCountry: [{ country: 'ET', total: 9, wrongCodes: 41, byKind: { 'verify-phone': 7 } }],
      },
    },
  })
  security(@Query() query: AnalyticsQueryDto) {
    return this.analytics.security(query);
  }
}
