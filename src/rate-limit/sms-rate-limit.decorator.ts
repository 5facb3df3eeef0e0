import { SetMetadata, Type, UseGuards, applyDecorators } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiServiceUnavailableResponse, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { RateLimitedEnvelopeDto } from '../common/errors/error-envelope.dto';
import {
  SMS_RATE_LIMIT_BODY,
  SMS_RATE_LIMIT_KIND,
  SmsRateLimitGuard,
  SmsRateLimitKind,
  SmsRateLimitRouteConfig,
} from './sms-rate-limit.guard';

const DESCRIPTIONS: Record<SmsRateLimitKind, string> = {
  send:
    'Rate limited (per phone, purpose, IP, distinct numbers per IP, number range, country, global, ' +
    'or the resend cooldown). `retryAfter` seconds, Retry-After and RateLimit-* headers.',
  verify:
    'Too many code checks for this phone or from this IP, or too many wrong codes for this ' +
    'verification (then request a new code). `retryAfter` seconds and Retry-After.',
};

/**
 * The SMS limits and their Swagger documentation in one decorator, so the two cannot drift.
 * The policy itself lives in RateLimitService, not in the controller; SmsRateLimitGuard applies it
 * before the handler runs (for code checks, VerificationService.check does on the other paths),
 * and KnownRefusalResponder answers refusals it already knows before that.
 *
 * `body`: the route's @Body() DTO. The guard validates the body against it before counting
 * anything, so a request the route refuses (400) spends no limit.
 */
export function SmsRateLimit(
  kind: SmsRateLimitKind,
  body: Type<object>,
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(SMS_RATE_LIMIT_KIND, kind),
    SetMetadata(SMS_RATE_LIMIT_BODY, body),
    RouteConfig({ smsRateLimit: kind } satisfies SmsRateLimitRouteConfig),
    UseGuards(SmsRateLimitGuard),
    ApiTooManyRequestsResponse({ type: RateLimitedEnvelopeDto, description: DESCRIPTIONS[kind] }),
    ApiServiceUnavailableResponse({
      type: RateLimitedEnvelopeDto,
      description: 'Limits cannot be checked right now (their store is down): nothing was sent',
    }),
  );
}
