import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { RawServerDefault } from 'fastify';
import { RequestValidationError } from '../errors/product-error';

/**
 * Fastify's JSON parser, with one more thing to say. It refuses bodies with a `__proto__` key (or
 * `constructor.prototype`), which would pollute prototypes once copied, but answers them as "not
 * valid JSON", which sends a developer looking for a syntax error that is not there. Bodies it
 * refuses are parsed again with plain JSON.parse (only those, so accepted bodies pay nothing):
 * when that succeeds, the JSON was valid and the keys were the problem.
 */
export function useJsonBodyParser(application: NestFastifyApplication): void {
  const fastify = application.getHttpAdapter().getInstance();
  const secureParse = fastify.getDefaultJsonParser('error', 'error');
  application.useBodyParser<RawServerDefault>('application/json', {}, (request, body, done) => {
    const text = body.toString();
    secureParse(request, text, (error, value) => {
      if (error && isValidJson(text)) {
        done(
          new RequestValidationError([
            'the request body must not contain a "__proto__" key or a "constructor" with a "prototype"',
          ]),
          undefined,
        );
        return;
      }
      done(error, value);
    });
  });
}

function isValidJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
