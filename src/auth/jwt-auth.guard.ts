import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from './auth.errors';
import { PUBLIC_ROUTE } from '../common/http/public.decorator';
import { AccessTokenService } from './tokens/access-token.service';
import { SessionClaims, SessionRevocations } from './tokens/session-revocations';

export type AuthenticatedRequest = FastifyRequest & { user?: SessionClaims };

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * The global guard: every route needs a valid access token unless it is @Public(). Its session
 * must not be revoked (logout, a replayed refresh token) nor its version outdated (password
 * reset, phone change): sessions end at once, not when their access tokens expire.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AccessTokenService,
    private readonly revocations: SessionRevocations,
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
    const session = match ? this.tokens.verifyAccess(match[1]) : undefined;
    if (!session || (await this.revocations.isRevoked(session))) {
      throw new UnauthorizedError('invalid');
    }
    request.user = session;
    return true;
  }
}
