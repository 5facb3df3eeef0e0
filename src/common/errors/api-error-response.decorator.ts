import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ErrorEnvelopeDto, RateLimitedEnvelopeDto } from './error-envelope.dto';
import { toEnvelope } from './http-exception.filter';
import { ProductError } from './product-error';

/**
 * Documents one error status of a route with an example of each product error that answers it.
 * The examples are what the exception filter makes of those very errors, so the status, machine
 * code and message Swagger shows are the ones a client gets; errors of different statuses in one
 * call are a mistake caught when the app starts.
 */
export function ApiErrorResponse(
  description: string,
  ...errors: [ProductError, ...ProductError[]]
): MethodDecorator & ClassDecorator {
  const answers = errors.map((error) => toEnvelope(error));
  const status = answers[0].status;
  const mismatched = answers.find((answer) => answer.status !== status);
  if (mismatched) {
    throw new Error(
      `ApiErrorResponse(${status}): ${mismatched.body.error} answers ${mismatched.status}`,
    );
  }
  const envelope = answers.some((answer) => answer.body.retryAfter !== undefined)
    ? RateLimitedEnvelopeDto
    : ErrorEnvelopeDto;
  return applyDecorators(
    ApiExtraModels(ErrorEnvelopeDto, RateLimitedEnvelopeDto),
    ApiResponse({
      status,
      description,
      content: {
        'application/json': {
          schema: { $ref: getSchemaPath(envelope) },
          examples: Object.fromEntries(
            answers.map(({ body }) => [body.error, { summary: body.error, value: body }]),
          ),
        },
      },
    }),
  );
}
