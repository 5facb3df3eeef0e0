import { CanActivate, ExecutionContext, Injectable, Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerStorage, ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestValidationError } from '../../common/errors/product-error';
import { RequestValidationPipe } from '../../common/request-validation';
import {
  HTTP_LAYER,
  HttpThrottle,
  httpRule,
  takeDeferredHttpThrottle,
} from '../../rate-limit/deferred-http-rule';
import { RateLimitedError } from '../../rate-limit/rate-limit.errors';
import { RateLimitService } from './rate-limit.service';
import { SmsRequests } from './sms-request';

export const SMS_RATE_LIMIT_KIND = 'sms-rate-limit-kind';
export const SMS_RATE_LIMIT_BODY = 'sms-rate-limit-body';
export type SmsRateLimitKind = 'send' | 'verify';

/** The Fastify route config SmsRateLimit() sets, so a Fastify hook can tell SMS routes apart. */
export interface SmsRateLimitRouteConfig {
  smsRateLimit?: SmsRateLimitKind;
}

/**
 * Applies the send limits before the handler runs, to bodies the route will accept only.
 *
 * Guards run before pipes, so the body is validated here first, against the route's DTO (named
 * by SmsRateLimit()) and by the same pipe as every other route: a body the route would refuse
 * (an unknown field, a bad locale, purpose or code, an invalid number) is counted by no SMS
 * layer. Otherwise anyone who knows a number could spend its cooldown and quotas with requests
 * that send nothing, and its owner would get a 429. The route receives the validated DTO.
 *
 * On /sms/verify-code it applies the client's code-check limit the same way and notes it on the
 * request's SmsRequest, so CodeChecker.check, which applies it on every other path (the auth
 * endpoints that accept a code), does not count the request twice. The phone's guess limits are applied by
 * CodeChecker.check alone, once it knows the check names a live verification.
 *
 * A send past a full country or global cap is let through with the caps noted on the request's
 * SmsRequest (`fullCaps`): VerificationSender, which knows the number's history, decides whether it
 * delivers anything. A 429 from those caps would let any stranger cut a country off.
 *
 * The route's generic per-IP rule (HttpThrottlerGuard left it here) goes into the same consume()
 * as the SMS rules, so a send or a code check costs one store round trip. A refused body is still
 * counted by that rule alone: it is the client's own flood budget, keyed on its address, and
 * garbage must not be a way around it.
 */
@Injectable()
export class SmsRateLimitGuard implements CanActivate {
  private readonly validation = new RequestValidationPipe();

  constructor(
    private readonly reflector: Reflector,
    private readonly requests: SmsRequests,
    private readonly limits: RateLimitService,
    @InjectThrottlerStorage() private readonly throttlerStorage: ThrottlerStorage,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const handler = context.getHandler();
    const kind = this.reflector.get<SmsRateLimitKind | undefined>(SMS_RATE_LIMIT_KIND, handler);
    if (kind === undefined) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const throttle = takeDeferredHttpThrottle();
    const body = await this.validBody(request, this.reflector.get(SMS_RATE_LIMIT_BODY, handler));
    const subject = body && this.requests.of(body, request.ip, kind === 'verify');
    // The validation pipe (or the handler, for a number libphonenumber refuses) answers it.
    if (!subject) return this.throttleOnly(throttle);

    if (kind === 'verify') {
      await this.limits.consumeCodeCheck(subject, throttle && httpRule(throttle));
      subject.codeCheckCounted = true;
      return true;
    }
    const { headers, fullCaps } = await this.limits.consumeSend(
      subject,
      throttle && httpRule(throttle),
    );
    subject.fullCaps = fullCaps;
    void reply.headers({ ...headers });
    return true;
  }

  /** The body as the route's DTO, now the request's body; undefined when the route refuses it. */
  private async validBody(request: FastifyRequest, dto: Type<object>): Promise<object | undefined> {
    try {
      const body = await this.validation.validateBody(request.body, dto);
      request.body = body;
      return body;
    } catch (error) {
      if (error instanceof RequestValidationError) return undefined;
      throw error;
    }
  }

  /** What HttpThrottlerGuard would have done, through its storage (and its outage fallback). */
  private async throttleOnly(throttle: HttpThrottle | undefined): Promise<boolean> {
    if (!throttle) return true;
    const { key, ttl, limit } = throttle;
    const record = await this.throttlerStorage.increment(key, ttl, limit, ttl, 'default');
    if (record.isBlocked)
      throw new RateLimitedError(HTTP_LAYER, limit, record.timeToBlockExpire, true);
    return true;
  }
}
