import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Clock } from '../common/clock';
import { RequestContext, requestContext } from '../common/request-context';
import { EventRecorder } from './events/event-recorder';
import { RecordedEvent } from './events/sms-event.repository';

/** The routes whose response time docs/PRODUCT.md#alerts watches ("response time > 2 seconds"). */
export function isTimedRoute(route: string | undefined): route is string {
  return route !== undefined && (route.startsWith('/sms/') || route.startsWith('/auth/'));
}

interface TimedRequest {
  context: RequestContext;
  deferred: { events: unknown[] };
  settled: boolean;
}

/**
 * Times every request of the SMS and auth routes, whatever its answer (a wrong code, a 4xx, a
 * refusal by a guard), with Fastify's own clock for the request, the one /metrics uses too (which
 * reads it once the answer is written):
 * - each timing goes to sms_request_timings (per minute and route, every instance), which the
 *   response-time alert reads;
 * - the analytics events the request produced wait until the response, and its time is stamped
 *   on the last one (the request's outcome), so each request counts once in the reports'
 *   response-time histogram.
 */
@Injectable()
export class RequestTimings {
  private readonly requests = new WeakMap<FastifyRequest, TimedRequest>();

  constructor(
    private readonly recorder: EventRecorder,
    private readonly clock: Clock,
  ) {}

  /** Set up by configureApp (app.setup.ts), after the hook that opens the request context. */
  addHooks(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', (request, reply, done) => {
      const context = requestContext.getStore();
      if (context && isTimedRoute(request.routeOptions.url)) {
        const timed: TimedRequest = { context, deferred: { events: [] }, settled: false };
        context.deferred = timed.deferred;
        this.requests.set(request, timed);
        // A connection closed before the answer never reaches onSend: keep its events.
        reply.raw.once('close', () => this.settle(timed));
      }
      done();
    });
    // Just before the answer is written rather than after (onResponse): a client that has its
    // answer finds its events recorded, and the time left out is the socket write alone.
    fastify.addHook('onSend', (request, reply, payload, done) => {
      const timed = this.requests.get(request);
      if (timed && !timed.settled) {
        this.recorder.recordRequest(request.routeOptions.url!, reply.elapsedTime, this.clock.now());
        this.settle(timed, Math.round(reply.elapsedTime));
      }
      done(null, payload);
    });
  }

  private settle(timed: TimedRequest, responseTimeMs?: number): void {
    if (timed.settled) return;
    timed.settled = true;
    // Events published from now on (work that outlives the answer) are recorded at once.
    timed.context.deferred = undefined;
    const events = timed.deferred.events as RecordedEvent[];
    events.forEach((event, index) =>
      this.recorder.enqueue(
        index === events.length - 1 && responseTimeMs !== undefined
          ? { ...event, responseTimeMs }
          : event,
      ),
    );
  }
}
