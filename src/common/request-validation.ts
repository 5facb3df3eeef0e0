import { ArgumentMetadata, Type, ValidationError, ValidationPipe } from '@nestjs/common';
import { RequestValidationError } from './errors/product-error';

/**
 * A value of the wrong type fails every rule of its property at once ("must be shorter than 32
 * characters; must be a string" for a number); only the type is worth saying then.
 */
const TYPE_CONSTRAINTS = new Set(['isString', 'isNumber', 'isInt', 'isBoolean', 'isArray']);

function messagesOf(error: ValidationError): string[] {
  const constraints = Object.entries(error.constraints ?? {});
  const typeProblems = constraints.filter(([name]) => TYPE_CONSTRAINTS.has(name));
  return (typeProblems.length > 0 ? typeProblems : constraints).map(([, message]) => message);
}

function flattenValidationErrors(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = messagesOf(error).map((message) =>
      message.startsWith(error.property)
        ? `${parent ? `${parent}.` : ''}${message}`
        : `${path}: ${message}`,
    );
    return [...own, ...flattenValidationErrors(error.children ?? [], path)];
  });
}

/** Bodies a guard already validated for its route (see validateBody), by identity. */
const validatedBodies = new WeakSet<object>();

/**
 * The one validation of request bodies: unknown fields refused, values transformed into the
 * route's DTO, failures answered 400 VALIDATION_FAILED with every problem listed.
 *
 * A guard that must not count a request before knowing it is valid (SmsRateLimitGuard) validates
 * the body itself with validateBody and hands the route the validated DTO; this pipe then takes
 * that DTO as it is instead of validating it a second time.
 */
export class RequestValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => new RequestValidationError(flattenValidationErrors(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (
      metadata.type === 'body' &&
      typeof value === 'object' &&
      value !== null &&
      validatedBodies.has(value) &&
      value instanceof (metadata.metatype as Type<unknown>)
    ) {
      return value;
    }
    const transformed: unknown = await super.transform(value, metadata);
    if (metadata.type === 'body') refuseNulls(value);
    return transformed;
  }

  /**
   * `body` validated as the route's @Body() would be: the DTO instance, or RequestValidationError
   * with the same problems the route would answer.
   */
  async validateBody<T extends object>(body: unknown, metatype: Type<T>): Promise<T> {
    const validated = (await super.transform(body, { type: 'body', metatype })) as T;
    refuseNulls(body);
    validatedBodies.add(validated);
    return validated;
  }
}

/**
 * No field of a request body takes null: `@IsOptional()` lets null through as if the field were
 * absent, and code after validation then met a null it never expected (a 500, after the SMS
 * limits had been counted). A client that means "none" leaves the field out.
 */
function refuseNulls(body: unknown): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const nulls = Object.keys(body).filter((key) => (body as Record<string, unknown>)[key] === null);
  if (nulls.length > 0) {
    throw new RequestValidationError(
      nulls.map((key) => `${key} must not be null; leave the field out instead`),
    );
  }
}
