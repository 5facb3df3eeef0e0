import { Injectable, Logger } from '@nestjs/common';
import type { Purpose } from '../purpose';

/**
 * What happened to a code, as analytics and metrics see it (docs/PRODUCT.md#analytics, extended):
 * - sent, delivered, undelivered, failed, verified, expired: the life of a real code;
 * - test_sent, test_verified, test_expired: the same for SMS_TEST_NUMBERS, which receive nothing
 *   and must not count as sends or conversions;
 * - rate_limited (`layer`: the limit), held (`layer`: pumping or budget), suppressed (answered,
 *   nothing delivered on purpose);
 * - wrong_code: a code check with a wrong code that left attempts;
 * - refused (`layer`): a send refused for its number (`country`, `line-type`), or an auth request
 *   refused after its SMS proof was accepted (`auth`);
 * - security (`layer`: its kind, see SECURITY_INCIDENT_KINDS) for incidents that are not a
 *   rate-limit refusal.
 */
export const SMS_EVENT_STATUSES = [
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'verified',
  'expired',
  'rate_limited',
  'suppressed',
  'held',
  'wrong_code',
  'refused',
  'security',
  'test_sent',
  'test_verified',
  'test_expired',
] as const;
export type SmsEventStatus = (typeof SMS_EVENT_STATUSES)[number];

/**
 * Security incidents (docs/PRODUCT.md#alerts "security incidents"), by kind. Code-check and
 * password limits refuse with a `rate_limited` event whose layer is the kind (one event per
 * refusal, so the rate-limit panel and the security report count the same requests); the other
 * kinds are `security` events with the kind as layer.
 */
export const SECURITY_INCIDENT_KINDS = [
  'code-attempts',
  'verify-phone',
  'verify-phone-ceiling',
  'verify-ip',
  'password-phone',
  'password-phone-ceiling',
  'password-ip',
  'webhook-signature',
] as const;
export type SecurityIncidentKind = (typeof SECURITY_INCIDENT_KINDS)[number];

/** The rate-limit layers whose refusals are security incidents. */
export const SECURITY_RATE_LIMIT_LAYERS: readonly SecurityIncidentKind[] = [
  'verify-phone',
  'verify-phone-ceiling',
  'verify-ip',
  'password-phone',
  'password-phone-ceiling',
  'password-ip',
];

const KINDS = new Set<string>(SECURITY_INCIDENT_KINDS);
const RATE_LIMIT_KINDS = new Set<string>(SECURITY_RATE_LIMIT_LAYERS);

/** The security incident an event reports, if any. */
export function securityIncidentOf(
  event: Pick<SmsEvent, 'status' | 'layer'>,
): SecurityIncidentKind | undefined {
  if (!event.layer) return undefined;
  if (event.status === 'security' && KINDS.has(event.layer)) {
    return event.layer as SecurityIncidentKind;
  }
  if (event.status === 'rate_limited' && RATE_LIMIT_KINDS.has(event.layer)) {
    return event.layer as SecurityIncidentKind;
  }
  return undefined;
}

/**
 * The status of a code's life event for the channel it went through: test numbers have their own
 * statuses, and a suppressed verification's expiry is no event (nothing was sent; its
 * `suppressed` event already counts it). Undefined: publish nothing.
 */
export function lifecycleStatus(
  status: 'sent' | 'verified' | 'expired',
  channel: string | undefined,
): SmsEventStatus | undefined {
  if (channel === 'test-number') return `test_${status}`;
  if (channel === 'suppressed' && status === 'expired') return undefined;
  return status;
}

/**
 * One fact about one SMS or check. Never a raw phone number, code or token: numbers and IPs are
 * HMACs, and error messages are ours, not the provider's (which may quote the number).
 */
export interface SmsEvent {
  status: SmsEventStatus;
  occurredAt: Date;
  phoneHash?: string;
  purpose?: Purpose;
  country?: string;
  channel?: string;
  verificationId?: string;
  /** Twilio's SM… or VE… sid. */
  providerSid?: string;
  errorCode?: string;
  errorMessage?: string;
  encoding?: 'GSM-7' | 'UCS-2';
  segments?: number;
  cost?: number;
  currency?: string;
  costSource?: 'twilio' | 'estimate';
  carrier?: string;
  /** For rate_limited, held and refused: what refused; for security: the incident's kind. */
  layer?: string;
  /** Milliseconds a provider call took (Twilio latency). */
  providerLatencyMs?: number;
}

export type SmsEventListener = (event: SmsEvent) => void;

/**
 * The small port through which the SMS, auth and rate-limit paths report what happened, and
 * analytics and metrics listen. Publishing never throws and never waits.
 */
@Injectable()
export class SmsEvents {
  private readonly logger = new Logger('SmsEvents');
  private readonly listeners: SmsEventListener[] = [];

  subscribe(listener: SmsEventListener): void {
    this.listeners.push(listener);
  }

  publish(event: SmsEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error }, 'an SMS event listener failed');
      }
    }
  }
}
