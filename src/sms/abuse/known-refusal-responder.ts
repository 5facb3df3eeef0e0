import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { toEnvelope } from '../../common/errors/http-exception.filter';
import { PhoneService } from '../../phone/phone.service';
import { RateLimitedError } from '../../rate-limit/rate-limit.errors';
import { RateLimitService } from './rate-limit.service';
import { SmsRateLimitRouteConfig } from './sms-rate-limit.guard';
import { sendAttemptOf, smsSubjectOf } from './sms-request';

/**
 * Answers a send whose refusal this instance already holds (KnownRefusals) in a Fastify hook,
 * before Nest's guards, pipes and interceptors, which were two thirds of the CPU of such a 429:
 * the path an SMS-bombing client keeps hitting. The answer, the analytics event and the metrics
 * are the ones SmsRateLimitGuard would produce; everything else goes on to the guard unchanged.
 */
@Injectable()
export class KnownRefusalResponder {
  constructor(
    private readonly phones: PhoneService,
    private readonly limits: RateLimitService,
  ) {}

  /** Set up by configureApp (app.setup.ts). */
  addHooks(fastify: FastifyInstance): void {
    fastify.addHook('preHandler', (request, reply, done) => {
      const refusal = this.refusalOf(request);
      if (!refusal) {
        done();
        return;
      }
      const { status, body, headers } = toEnvelope(refusal);
      void reply.headers(headers).status(status).send(body);
    });
  }

  private refusalOf(request: FastifyRequest): RateLimitedError | undefined {
    const config = request.routeOptions.config as SmsRateLimitRouteConfig | undefined;
    if (config?.smsRateLimit !== 'send') return undefined;
    try {
      const subject = smsSubjectOf(request.body, this.phones);
      return (
        subject && this.limits.knownSendRefusal(sendAttemptOf(subject, request.ip, this.phones))
      );
    } catch {
      // Whatever went wrong happens again in SmsRateLimitGuard, which answers it properly.
      return undefined;
    }
  }
}
