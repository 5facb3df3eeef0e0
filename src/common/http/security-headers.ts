import helmet from 'helmet';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Swagger UI and the dashboard load their own scripts and styles from this origin; no third-party
 * origins are allowed.
 */
function helmetOptions({ https }: { https: boolean }) {
  return {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: https ? [] : null,
      },
    },
    crossOriginEmbedderPolicy: false,
    // Browsers ignore it on plain HTTP except to log an error in the console of every page.
    crossOriginOpenerPolicy: https,
  };
}

/** The headers helmet sets with these options: nothing in them depends on the request. */
function helmetHeaders(options: ReturnType<typeof helmetOptions>): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error) => {
    failure = error;
  });
  if (failure) throw failure;
  return headers;
}

/**
 * helmet's security headers on every answer, worked out once at boot and added to each reply's
 * headers: running helmet's middleware per request (or @fastify/helmet, which also parses the
 * CSP each time) set each header on the raw response one call at a time, several percent of the
 * CPU of a small answer. Two sets: only a page reached over HTTPS may tell the browser to upgrade
 * its subresources; on plain HTTP (any address but localhost) the upgraded requests would fail
 * and /docs and /admin stay blank. `request.protocol` is https behind a trusted proxy that says
 * so (X-Forwarded-Proto, see TRUST_PROXY) or on a TLS listener.
 */
export function addSecurityHeaders(fastify: FastifyInstance): void {
  const https = helmetHeaders(helmetOptions({ https: true }));
  const http = helmetHeaders(helmetOptions({ https: false }));
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.headers(request.protocol === 'https' ? https : http);
    done();
  });
}
