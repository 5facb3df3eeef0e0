import { SetMetadata, Type, UseGuards, applyDecorators } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiErrorResponse } from '../../common/errors/api-error-response.decorator';
import { ProductError } from '../../common/errors/product-error';
import { SmsProviderRateLimitedError } from '../providers/twilio/twilio-errors';
import { VerificationAttemptsExceededError, VerificationResendLimitError } from '../sms.errors';
import { DefersHttpThrottle } from '../../rate-limit/deferred-http-rule';
import { RateLimitedError } from '../../rate-limit/rate-limit.errors';
import {
  SMS_RATE_LIMIT_BODY,
  SMS_RATE_LIMIT_KIND,
  SmsRateLimitGuard,
  SmsRateLimitKind,
  SmsRateLimitRouteConfig,
} from './sms-rate-limit.guard';

const REFUSALS: Record<SmsRateLimitKind, [ProductError, ...ProductError[]]> = {
  send: [
    new RateLimitedError('phone', 5, 734),
    new VerificationResendLimitError(412),
    new SmsProviderRateLimitedError(60),
  ],
  verify: [new RateLimitedError('verify-phone', 10, 734), new VerificationAttemptsExceededError()],
};

const DESCRIPTIONS: Record<SmsRateLimitKind, string> = {
  send:
    'Rate limited (per phone, purpose, IP, distinct numbers per IP, number range, country, global, ' +
    'or the resend cooldown). `retryAfter` seconds and Retry-After; RateLimit-* headers only ' +
    "when the client's own quota (its IP) refused.",
  verify:
    'Too many code checks for this phone or from this IP, or too many wrong codes for this ' +
    'verification (then request a new code). `retryAfter` seconds and Retry-After.',
};

/**
 * The SMS limits and their Swagger documentation in one decorator, so the two cannot drift.
 * The policy itself lives in RateLimitService, not in the controller; SmsRateLimitGuard applies it
 * before the handler runs (for code checks, CodeChecker.check does on the other paths),
 * and KnownRefusalResponder answers refusals it already knows before that.
 *
 * `body`: the route's @Body() DTO. The guard validates the body against it before counting
 * anything, so a request the route refuses (400) spends no limit.
 */
export function SmsRateLimit(kind: SmsRateLimitKind, body: Type<object>): MethodDecorator {
  return applyDecorators(
    SetMetadata(SMS_RATE_LIMIT_KIND, kind),
    DefersHttpThrottle(),
    SetMetadata(SMS_RATE_LIMIT_BODY, body),
    RouteConfig({ smsRateLimit: kind } satisfies SmsRateLimitRouteConfig),
    UseGuards(SmsRateLimitGuard),
    ApiErrorResponse(DESCRIPTIONS[kind], ...REFUSALS[kind]),
  );
}
