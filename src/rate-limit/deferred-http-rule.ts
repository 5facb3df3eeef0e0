import { SetMetadata } from '@nestjs/common';
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

/**
 * Requests whose guard applies the generic per-IP rule together with its own rules (see
 * HttpThrottlerGuard), keyed by the request object so nothing outlives the request.
 */
const deferred = new WeakMap<object, HttpThrottle>();

/** The layer of the generic per-route rule; its key is the route and the client's address. */
export const HTTP_LAYER = 'http';

export function httpRule({ key, limit, ttl }: HttpThrottle): WindowRule {
  return { type: 'window', layer: HTTP_LAYER, key: `http:${key}`, limit, windowMs: ttl };
}

export function deferHttpThrottle(request: object, throttle: HttpThrottle): void {
  deferred.set(request, throttle);
}

/** The throttle HttpThrottlerGuard left to the SMS guard for this request; once. */
export function takeDeferredHttpThrottle(request: object): HttpThrottle | undefined {
  const throttle = deferred.get(request);
  deferred.delete(request);
  return throttle;
}
