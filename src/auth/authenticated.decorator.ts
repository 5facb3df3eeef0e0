import { ExecutionContext, applyDecorators, createParamDecorator } from '@nestjs/common';
import { ApiBearerAuth, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ErrorEnvelopeDto } from '../common/errors/error-envelope.dto';
import type { AuthenticatedRequest } from './jwt-auth.guard';
import type { TokenSubject } from './tokens/access-token.service';

/** Swagger name of the access-token scheme (app.setup.ts declares it). */
export const ACCESS_TOKEN_SCHEME = 'access-token';

/**
 * Documents a route that needs an access token. The protection itself does not depend on this
 * decorator: the global guard denies every route that is not @Public().
 */
export function Authenticated(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiBearerAuth(ACCESS_TOKEN_SCHEME),
    ApiUnauthorizedResponse({
      type: ErrorEnvelopeDto,
      description:
        'UNAUTHORIZED: no access token, or one that is expired or revoked (password reset, ' +
        'phone change); INVALID_CREDENTIALS or INVALID_CODE: a re-authentication failed',
    }),
  );
}

/** The user the access token speaks for, as the guard verified it. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): TokenSubject =>
    context.switchToHttp().getRequest<AuthenticatedRequest>().user!,
);
