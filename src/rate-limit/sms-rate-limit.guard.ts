import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerStorage, ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PhoneService } from '../phone/phone.service';
import { HttpThrottle, httpRule, takeDeferredHttpThrottle } from './deferred-http-rule';
import { RateLimitedError } from './rate-limit.errors';
import { RateLimitService } from './rate-limit.service';
import { sendAttemptOf, smsSubjectOf } from './sms-request';

export const SMS_RATE_LIMIT_KIND = 'sms-rate-limit-kind';
export type SmsRateLimitKind = 'send' | 'verify';

/** The Fastify route config SmsRateLimit() sets, so a Fastify hook can tell SMS routes apart. */
export interface SmsRateLimitRouteConfig {
  smsRateLimit?: SmsRateLimitKind;
}

/**
 * Applies the send limits before the handler runs. A body the validation pipe will refuse anyway
 * (no number, unknown purpose, invalid number) passes through untouched: it reaches no provider,
 * and counting it would let garbage use up a real number's quota.
 *
 * On /sms/verify-code it applies the code-check limits the same way and notes it on the request,
 * so VerificationService.check, which applies them on every other path (the auth endpoints that
 * accept a code), does not count the request twice.
 *
 * The route's generic per-IP rule (HttpThrottlerGuard left it here) goes into the same consume()
 * as the SMS rules, so a send or a code check costs one store round trip; a body that is passed
 * through is counted by that rule alone.
 */
@Injectable()
export class SmsRateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly phones: PhoneService,
    private readonly limits: RateLimitService,
    @InjectThrottlerStorage() private readonly throttlerStorage: ThrottlerStorage,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const kind = this.reflector.get<SmsRateLimitKind | undefined>(
      SMS_RATE_LIMIT_KIND,
      context.getHandler(),
    );
    if (kind === undefined) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const throttle = takeDeferredHttpThrottle(request);
    const subject = smsSubjectOf(request.body, this.phones, kind === 'verify');
    if (!subject) return this.throttleOnly(throttle);
    const { phone } = subject;

    if (kind === 'verify') {
      await this.limits.consumeVerify(
        { e164: phone.e164, ip: request.ip },
        throttle && httpRule(throttle),
      );
      verifyLimitsApplied.set(request, phone.e164);
      return true;
    }
    const headers = await this.limits.consumeSend(
      sendAttemptOf(subject, request.ip, this.phones),
      throttle && httpRule(throttle),
    );
    void reply.headers({ ...headers });
    return true;
  }

  /** What HttpThrottlerGuard would have done, through its storage (and its outage fallback). */
  private async throttleOnly(throttle: HttpThrottle | undefined): Promise<boolean> {
    if (!throttle) return true;
    const { key, ttl, limit } = throttle;
    const record = await this.throttlerStorage.increment(key, ttl, limit, ttl, 'default');
    if (record.isBlocked) throw new RateLimitedError('http', limit, record.timeToBlockExpire);
    return true;
  }
}

/** The number whose code-check limits the guard applied for this request. */
const verifyLimitsApplied = new WeakMap<object, string>();

/** The E.164 number SmsRateLimitGuard already counted this request's code check for, if any. */
export function verifyLimitsAppliedTo(request: object): string | undefined {
  return verifyLimitsApplied.get(request);
}
