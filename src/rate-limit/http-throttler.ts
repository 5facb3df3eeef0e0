import { ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerRequest,
  ThrottlerStorage,
} from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { Clock } from '../common/clock';
import { Hasher } from '../common/hasher';
import { RateLimitedError } from './rate-limit.errors';
import { MemoryRateLimitStore } from './store/memory-rate-limit.store';
import {
  DEFERS_HTTP_THROTTLE,
  HTTP_LAYER,
  deferHttpThrottle,
  httpRule,
} from './deferred-http-rule';
import { RateLimitStore } from './store/rate-limit-store';

/**
 * @nestjs/throttler's storage on our rate-limit store, so generic per-IP throttling is shared by
 * every instance like the SMS limits. Unlike the SMS limits it falls back to a bounded
 * per-instance store while the shared one is down: throttling every route closed during a Redis
 * outage would take down health checks and logins that need no SMS.
 */
@Injectable()
export class RateLimitThrottlerStorage implements ThrottlerStorage {
  private readonly logger = new Logger('HttpThrottler');
  private readonly fallback = new MemoryRateLimitStore({ maxKeys: 50_000 });
  private degraded = false;

  constructor(
    private readonly store: RateLimitStore,
    private readonly clock: Clock,
  ) {}

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    const rule = httpRule({ key, limit, ttl });
    const now = this.clock.now().getTime();
    let result;
    try {
      result = await this.store.consume([rule], now);
      if (this.degraded) this.logger.log('shared throttling store is back');
      this.degraded = false;
    } catch (error) {
      if (!this.degraded)
        this.logger.warn({ err: error }, 'shared throttling store down; throttling per instance');
      this.degraded = true;
      result = await this.fallback.consume([rule], now);
    }
    const state = result.states[0];
    const seconds = (milliseconds: number) => Math.max(1, Math.ceil(milliseconds / 1000));
    if (!result.allowed) {
      const retryAfter = seconds(result.rejected?.retryAfterMs ?? ttl);
      return {
        totalHits: limit + 1,
        timeToExpire: retryAfter,
        isBlocked: true,
        timeToBlockExpire: retryAfter,
      };
    }
    return {
      totalHits: limit - state.remaining,
      timeToExpire: seconds(state.resetMs),
      isBlocked: false,
      timeToBlockExpire: 0,
    };
  }
}

/**
 * Generic per-IP throttling on every route: keys are HMACs of the IP, 429s use our envelope.
 *
 * On the SMS routes (send and verify-code) the rule is not consumed here but handed to
 * SmsRateLimitGuard, which adds it to the SMS rules' single consume(): one store round trip per
 * request instead of two, on the paths an SMS-bombing or code-guessing attacker hammers. The one
 * difference: a request refused by an SMS layer does not count against the route's HTTP budget,
 * which can only matter while the SMS layers (stricter, keyed on the same IP) refuse anyway.
 */
@Injectable()
export class HttpThrottlerGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly hasher: Hasher,
  ) {
    super(options, storage, reflector);
  }

  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    const defers = this.reflector.get<boolean | undefined>(
      DEFERS_HTTP_THROTTLE,
      request.context.getHandler(),
    );
    if (!defers) return super.handleRequest(request);
    const { req } = this.getRequestResponse(request.context);
    const tracker = await request.getTracker(req, request.context);
    const key = request.generateKey(request.context, tracker, request.throttler.name ?? 'default');
    deferHttpThrottle({ key, limit: request.limit, ttl: request.ttl });
    return true;
  }

  /**
   * The client address as Fastify saw it (after TRUST_PROXY); generateKey groups it like every
   * other per-client key (Hasher.hashClient), instead of @nestjs/throttler's own fixed /64.
   */
  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    return String(request.ip);
  }

  protected override generateKey(context: ExecutionContext, tracker: string, name: string): string {
    const route = `${context.getClass().name}.${context.getHandler().name}.${name}`;
    return `${route}:${this.hasher.hashClient(tracker).slice(0, 32)}`;
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new RateLimitedError(HTTP_LAYER, detail.limit, detail.timeToBlockExpire, true);
  }
}
