import { UseGuards, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiNotFoundResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto';
import { OperatorGuard } from './operator.guard';

/** An operator-only route: the guard and its Swagger documentation together. */
export function OperatorRoute(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    UseGuards(OperatorGuard),
    ApiBearerAuth('operator'),
    ApiUnauthorizedResponse({
      type: ErrorEnvelopeDto,
      description: 'Missing or wrong ADMIN_API_KEY',
    }),
    ApiNotFoundResponse({
      type: ErrorEnvelopeDto,
      description: 'Operator routes are off (no ADMIN_API_KEY)',
    }),
  );
}
