import {
  CanActivate,
  ExecutionContext,
  Injectable,
  Logger,
  UseGuards,
  applyDecorators,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiForbiddenResponse, ApiHeader } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Clock } from '../../common/clock';
import { SmsEvents } from '../../common/events/sms-events';
import { ErrorEnvelopeDto } from '../../common/errors/error-envelope.dto';
import { ProductError } from '../../common/errors/product-error';
import { Configuration } from '../../config/configuration';
import { isValidTwilioSignature } from '../../sms/providers/twilio/twilio-signature';
import { WebhookStats } from './webhook-stats';

export class InvalidTwilioSignatureError extends ProductError {
  constructor() {
    super('INVALID_SIGNATURE', 'The request is not signed by Twilio.', 'forbidden');
  }
}

/**
 * Accepts only requests Twilio signed for this service's public URL: PUBLIC_BASE_URL plus the path
 * and query, never a URL rebuilt from Host or X-Forwarded-* headers, so proxies and TLS
 * termination neither break the check nor let a caller choose the URL that is checked.
 */
@Injectable()
export class TwilioSignatureGuard implements CanActivate {
  private readonly logger = new Logger('TwilioWebhook');
  private readonly publicBaseUrl?: string;
  private readonly authToken?: string;

  constructor(
    private readonly stats: WebhookStats,
    private readonly events: SmsEvents,
    private readonly clock: Clock,
    config: ConfigService<Configuration, true>,
  ) {
    this.publicBaseUrl = config.get('app', { infer: true }).publicBaseUrl;
    this.authToken = config.get('twilio', { infer: true }).authToken;
    if (!this.publicBaseUrl || !this.authToken) {
      this.logger.warn('PUBLIC_BASE_URL or TWILIO_AUTH_TOKEN unset: Twilio webhooks are refused');
    }
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const signature = request.headers['x-twilio-signature'];
    const params = formParams(request.body);
    const valid =
      this.publicBaseUrl !== undefined &&
      this.authToken !== undefined &&
      typeof signature === 'string' &&
      params !== undefined &&
      isValidTwilioSignature(
        this.authToken,
        signature,
        `${this.publicBaseUrl}${request.url}`,
        params,
      );
    if (!valid) {
      this.stats.failed('signature');
      // A forged or misrouted callback: a security incident, recorded with the caller's IP HMAC.
      this.events.publish({
        status: 'security',
        layer: 'webhook-signature',
        occurredAt: this.clock.now(),
        errorCode: 'INVALID_SIGNATURE',
      });
      this.logger.warn(
        { path: request.url.split('?')[0] },
        'Twilio webhook refused: bad or missing signature',
      );
      throw new InvalidTwilioSignatureError();
    }
    return true;
  }
}

/** A form body as Twilio posts it: flat string values only. */
function formParams(body: unknown): Record<string, string> | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) {
    if (typeof value !== 'string') return undefined;
    params[key] = value;
  }
  return params;
}

/** A Twilio webhook route: the signature guard and its Swagger documentation together. */
export function TwilioWebhook(): MethodDecorator & ClassDecorator {
  return applyDecorators(
    UseGuards(TwilioSignatureGuard),
    ApiHeader({
      name: 'X-Twilio-Signature',
      required: true,
      description: "Twilio's request signature",
    }),
    ApiForbiddenResponse({
      type: ErrorEnvelopeDto,
      description: 'Missing or wrong X-Twilio-Signature',
    }),
  );
}
