import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { toEnvelope } from '../../common/errors/http-exception.filter';
import { RateLimitedError } from '../../rate-limit/rate-limit.errors';
import { RateLimitService } from './rate-limit.service';
import { SmsRateLimitRouteConfig } from './sms-rate-limit.guard';
import { SmsRequests } from './sms-request';

/**
 * Answers a send whose refusal this instance already holds (KnownRefusals) in a Fastify hook,
 * before Nest's guards, pipes and interceptors, which were two thirds of the CPU of such a 429:
 * the path an SMS-bombing client keeps hitting. The answer, the analytics event and the metrics
 * are the ones SmsRateLimitGuard would produce; everything else goes on to the guard unchanged.
 */
@Injectable()
export class KnownRefusalResponder {
  constructor(
    private readonly requests: SmsRequests,
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
      // Kept in the request's context: the guard reuses it when the validated body is the same.
      const subject = this.requests.of(request.body, request.ip);
      return subject && this.limits.knownSendRefusal(subject);
    } catch {
      // Whatever went wrong happens again in SmsRateLimitGuard, which answers it properly.
      return undefined;
    }
  }
}
