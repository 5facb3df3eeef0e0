import { RouteConfig } from '@nestjs/platform-fastify';
import { UnsupportedMediaTypeException } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';

/** The Fastify route config of a route that takes a form-encoded body instead of JSON. */
export interface FormBodyRouteConfig {
  formBody?: boolean;
}

/** Marks a route whose body is form-encoded (Twilio's callbacks); every other body is JSON. */
export const FormBody = (): MethodDecorator =>
  RouteConfig({ formBody: true } satisfies FormBodyRouteConfig);

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * Refuses a body of any other media type than the route's with 415. Fastify parses text/plain (as
 * a string) and the adapter parses forms everywhere, so without this a JSON body sent as
 * text/plain met a wall of validation messages, and a form-encoded send went through undocumented.
 */
export function requireRouteMediaType(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', (request, _reply, done) => {
    if (request.body === undefined || request.body === null) return done();
    const config = request.routeOptions.config as FormBodyRouteConfig | undefined;
    const expected = config?.formBody ? FORM_TYPE : JSON_TYPE;
    const mediaType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (mediaType === expected) return done();
    done(
      new UnsupportedMediaTypeException(
        `This route takes ${expected} bodies; the request sent ${mediaType || 'no Content-Type'}.`,
      ),
    );
  });
}
