import { SetMetadata } from '@nestjs/common';
import { RequestSlot } from '../common/request-context';
import { WindowRule } from './store/rate-limit-store';

/** What HttpThrottlerGuard would have counted for one request: @nestjs/throttler's terms. */
export interface HttpThrottle {
  key: string;
  limit: number;
  ttl: number;
}

/** Route metadata: the route's own guard applies the generic per-IP rule (DefersHttpThrottle). */
export const DEFERS_HTTP_THROTTLE = 'rate-limit:defers-http-throttle';

/**
 * For a route whose guard consumes its own rules in one store call: HttpThrottlerGuard leaves
 * the route's per-IP rule to it (takeDeferredHttpThrottle) instead of consuming it apart.
 */
export const DefersHttpThrottle = (): MethodDecorator => SetMetadata(DEFERS_HTTP_THROTTLE, true);

/** The throttle HttpThrottlerGuard left to the route's own guard, in the request's context. */
const deferred = new RequestSlot<HttpThrottle>('deferred-http-throttle');

/** The layer of the generic per-route rule; its key is the route and the client's address. */
export const HTTP_LAYER = 'http';

export function httpRule({ key, limit, ttl }: HttpThrottle): WindowRule {
  return { type: 'window', layer: HTTP_LAYER, key: `http:${key}`, limit, windowMs: ttl };
}

export function deferHttpThrottle(throttle: HttpThrottle): void {
  deferred.set(throttle);
}

/** The throttle HttpThrottlerGuard left to the route's guard for this request; once. */
export function takeDeferredHttpThrottle(): HttpThrottle | undefined {
  return deferred.take();
}
