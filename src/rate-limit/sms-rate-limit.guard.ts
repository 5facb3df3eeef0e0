import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProductError } from '../common/errors/product-error';
import { PhoneService } from '../phone/phone.service';
import { PURPOSES, Purpose } from '../sms/purpose';
import { RateLimitService } from './rate-limit.service';

export const SMS_RATE_LIMIT_KIND = 'sms-rate-limit-kind';
export type SmsRateLimitKind = 'send' | 'verify';

interface SmsRequestBody {
  phoneNumber?: unknown;
  countryCode?: unknown;
  purpose?: unknown;
}

/**
 * Applies the send limits before the handler runs. A body the validation pipe will refuse anyway
 * (no number, unknown purpose, invalid number) passes through untouched: it reaches no provider,
 * and counting it would let garbage use up a real number's quota.
 *
 * Code checks are limited inside VerificationService.check instead: /sms/verify-code and every
 * auth endpoint that accepts a code go through it, so no path can check codes around the limits.
 */
@Injectable()
export class SmsRateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly phones: PhoneService,
    private readonly limits: RateLimitService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const kind = this.reflector.get<SmsRateLimitKind | undefined>(
      SMS_RATE_LIMIT_KIND,
      context.getHandler(),
    );
    if (kind !== 'send') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const body = (request.body ?? {}) as SmsRequestBody;
    if (typeof body.phoneNumber !== 'string' || !isPurpose(body.purpose)) return true;
    const countryCode = typeof body.countryCode === 'string' ? body.countryCode : undefined;

    let phone;
    try {
      phone = this.phones.normalize(body.phoneNumber, countryCode);
    } catch (error) {
      if (error instanceof ProductError) return true;
      throw error;
    }

    const headers = await this.limits.consumeSend({
      e164: phone.e164,
      prefix: this.phones.prefixOf(phone.e164),
      country: phone.country,
      purpose: body.purpose,
      ip: request.ip,
    });
    void reply.headers({ ...headers });
    return true;
  }
}

function isPurpose(value: unknown): value is Purpose {
  return typeof value === 'string' && (PURPOSES as readonly string[]).includes(value);
}
