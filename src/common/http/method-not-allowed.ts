import type { FastifyInstance } from 'fastify';
import type { ErrorEnvelope } from '../errors/http-exception.filter';

interface KnownPath {
  pattern: RegExp;
  methods: Set<string>;
}

/** `/admin/sms/holds/:id` → a RegExp matching its paths; `*` matches the rest of the path. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) =>
      segment.startsWith(':')
        ? '[^/]+'
        : segment === '*'
          ? '.*'
          : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  // Exactly the route's path: Fastify serves `/health` and not `/health/`, so a 405 for the latter
  // would name a method that does not work there either.
  return new RegExp(`^${source}$`);
}

/**
 * A path that exists answers a method it does not take with 405 and an `Allow` header (RFC 9110
 * §15.5.6), instead of the 404 of a path that does not exist. Routes are collected as they are
 * registered; the check runs only for requests no route matched.
 */
export function answerMethodNotAllowed(fastify: FastifyInstance): void {
  const known = new Map<string, KnownPath>();
  fastify.addHook('onRoute', (route) => {
    if (route.url.includes('*')) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const entry = known.get(route.url) ?? { pattern: patternOf(route.url), methods: new Set() };
    for (const method of methods) entry.methods.add(method.toUpperCase());
    known.set(route.url, entry);
  });

  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.routeOptions.url !== undefined) return done();
    const path = request.url.split('?')[0];
    const allowed = new Set<string>();
    for (const { pattern, methods } of known.values()) {
      if (pattern.test(path)) for (const method of methods) allowed.add(method);
    }
    if (allowed.size === 0) return done();
    const allow = [...allowed].sort().join(', ');
    const body: ErrorEnvelope = {
      success: false,
      message: `${request.method} is not allowed here; this path takes ${allow}.`,
      error: 'METHOD_NOT_ALLOWED',
    };
    void reply.code(405).header('Allow', allow).send(body);
  });
}
