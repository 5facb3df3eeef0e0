import { CanActivate, ExecutionContext, Injectable, NotFoundException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { Hasher } from '../common/hasher';
import { ProductError } from '../common/errors/product-error';
import { Configuration } from '../config/configuration';

export class OperatorUnauthorizedError extends ProductError {
  constructor() {
    super(
      'UNAUTHORIZED',
      'Operator routes need Authorization: Bearer <ADMIN_API_KEY>.',
      'unauthorized',
      {
        headers: { 'WWW-Authenticate': 'Bearer realm="operator"' },
      },
    );
  }
}

/**
 * Operator routes: `Authorization: Bearer <ADMIN_API_KEY>`, compared in constant time. Without an
 * ADMIN_API_KEY the routes are off and answer 404 like any unknown route.
 */
@Injectable()
export class OperatorGuard implements CanActivate {
  private readonly expectedHash?: string;

  constructor(
    private readonly hasher: Hasher,
    config: ConfigService<Configuration, true>,
  ) {
    const key = config.get('security', { infer: true }).adminApiKey;
    // Comparing HMACs keeps the comparison constant-time whatever the presented key's length.
    this.expectedHash = key ? hasher.hash('operator-key', key) : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!this.expectedHash)
      throw new NotFoundException(`Cannot ${request.method} ${request.url.split('?')[0]}`);
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match || !this.hasher.matches('operator-key', match[1], this.expectedHash)) {
      throw new OperatorUnauthorizedError();
    }
    return true;
  }
}
