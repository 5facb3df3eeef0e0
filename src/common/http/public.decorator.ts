import { SetMetadata } from '@nestjs/common';

export const PUBLIC_ROUTE = 'auth:public';

/**
 * A route (or every route of a controller) that needs no access token. Everything else does:
 * the global JwtAuthGuard denies by default. Routes with their own credentials (operator key,
 * Twilio signature) are public here and checked by their own guard.
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);
