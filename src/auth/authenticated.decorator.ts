import { ExecutionContext, applyDecorators, createParamDecorator } from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import { ApiErrorResponse } from '../common/errors/api-error-response.decorator';
import { ProductError } from '../common/errors/product-error';
import { UnauthorizedError } from './auth.errors';
import type { AuthenticatedRequest } from './jwt-auth.guard';
import type { TokenSubject } from './tokens/access-token.service';

/** Swagger name of the access-token scheme (app.setup.ts declares it). */
export const ACCESS_TOKEN_SCHEME = 'access-token';

/**
 * Documents a route that needs an access token; `reauthentication` are the other 401 answers of a
 * route that checks the user again (a password or an SMS code). The protection itself does not
 * depend on this decorator: the global guard denies every route that is not @Public().
 */
export function Authenticated(
  ...reauthentication: ProductError[]
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiBearerAuth(ACCESS_TOKEN_SCHEME),
    ApiErrorResponse(
      'UNAUTHORIZED: no access token, or one that is expired or revoked (logout, password reset, ' +
        'phone change)' +
        (reauthentication.length > 0
          ? `; ${reauthentication.map((error) => error.code).join(' or ')}: the re-authentication failed`
          : ''),
      new UnauthorizedError('missing'),
      new UnauthorizedError('invalid'),
      ...reauthentication,
    ),
  );
}

/** The user the access token speaks for, as the guard verified it. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): TokenSubject =>
    context.switchToHttp().getRequest<AuthenticatedRequest>().user!,
);
