import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from './auth.errors';
import { PUBLIC_ROUTE } from './public.decorator';
import { AccessTokenService, TokenSubject } from './tokens/access-token.service';
import { UserRepository } from './user.repository';

export type AuthenticatedRequest = FastifyRequest & { user?: TokenSubject };

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * The global guard: every route needs a valid access token unless it is @Public(). The token's
 * version must still be the user's, so a password reset or phone change ends sessions at once
 * instead of when their access tokens expire.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AccessTokenService,
    private readonly users: UserRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_ROUTE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    if (!header) throw new UnauthorizedError('missing');
    const match = BEARER.exec(header);
    const subject = match ? this.tokens.verifyAccess(match[1]) : undefined;
    if (!subject) throw new UnauthorizedError('invalid');
    const currentVersion = await this.users.tokenVersionOf(subject.userId);
    if (currentVersion !== subject.tokenVersion) throw new UnauthorizedError('invalid');
    request.user = subject;
    return true;
  }
}
