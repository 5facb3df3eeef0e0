import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Configuration } from '../config/configuration';
import { RedisConnection } from '../redis/redis-connection';
import { SmsProviders } from './providers/sms-providers';

const CACHE_TTL_SECONDS = 30 * 24 * 3600;
const LOCAL_CACHE_LIMIT = 10_000;

/**
 * The carrier of a number for analytics, from Twilio Lookup when TWILIO_LOOKUP_ENABLED=true.
 * Lookups are paid per call, so answers are cached per number HMAC (in Redis when configured, so
 * every instance shares them). A failed lookup never fails a send: the carrier stays empty.
 */
@Injectable()
export class CarrierLookupService {
  private readonly logger = new Logger('CarrierLookup');
  private readonly enabled: boolean;
  private readonly local = new Map<string, string>();

  constructor(
    private readonly providers: SmsProviders,
    private readonly redis: RedisConnection,
    config: ConfigService<Configuration, true>,
  ) {
    this.enabled = config.get('analytics', { infer: true }).lookupEnabled;
  }

  async carrierOf(e164: string, phoneHash: string): Promise<string | undefined> {
    if (!this.enabled) return undefined;
    const key = `${this.redis.keyPrefix}lookup:${phoneHash.slice(0, 32)}`;
    const cached = this.local.get(key) ?? (await this.redis.client?.get(key).catch(() => null));
    if (cached !== undefined && cached !== null) return cached || undefined;
    try {
      const info = await this.providers.lineInfo(e164);
      const carrier = info?.carrier ?? '';
      if (this.local.size >= LOCAL_CACHE_LIMIT) this.local.delete(this.local.keys().next().value!);
      this.local.set(key, carrier);
      await this.redis.client?.set(key, carrier, 'EX', CACHE_TTL_SECONDS).catch(() => undefined);
      return carrier || undefined;
    } catch (error) {
      this.logger.warn({ err: error }, 'carrier lookup failed');
      return undefined;
    }
  }
}
