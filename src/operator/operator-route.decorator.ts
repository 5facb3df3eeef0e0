import { UseGuards, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse } from '@nestjs/swagger';
import { ApiErrorResponse } from '../common/errors/api-error-response.decorator';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto';
import { OperatorGuard, OperatorUnauthorizedError } from './operator.guard';

/** An operator-only route: the guard and its Swagger documentation together. */
export function OperatorRoute(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    UseGuards(OperatorGuard),
    ApiBearerAuth('operator'),
    ApiErrorResponse('Missing or wrong ADMIN_API_KEY', new OperatorUnauthorizedError()),
    ApiNotFoundResponse({
      type: ErrorEnvelopeDto,
      description: 'Operator routes are off (no ADMIN_API_KEY)',
    }),
  );
}
