import { Injectable, Logger } from '@nestjs/common';
import type { Purpose } from '../../sms/purpose';

/** What happened to a code, as analytics and metrics see it (SPEC.md §4, extended). */
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
] as const;
export type SmsEventStatus = (typeof SMS_EVENT_STATUSES)[number];

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
  /** For rate_limited: the layer that refused. */
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
