import {
  SECURITY_INCIDENT_KINDS,
  SMS_EVENT_STATUSES,
  SecurityIncidentKind,
  SmsEventStatus,
  securityIncidentOf,
} from '../common/events/sms-events';
import { RollupRow } from './reports.repository';

/*
 * The arithmetic of the operators' reports: rollup rows added up into totals per status and
 * detail, and the rates, incidents and costs read from them.
 */

/**
 * The only channel whose sends get delivery receipts: Twilio Messaging's status callbacks.
 * Verify has no per-message callback, and the console provider sends nothing.
 */
const RECEIPT_CHANNELS = new Set(['twilio-messaging']);

export interface Totals {
  counts: Record<SmsEventStatus, number>;
  /** Events per status and detail (the refusing layer, else the channel). */
  details: Map<SmsEventStatus, Map<string, number>>;
  cost: number;
  estimatedCostEvents: number;
  responseCount: number;
  responseMsSum: number;
}

export function emptyTotals(): Totals {
  return {
    counts: Object.fromEntries(SMS_EVENT_STATUSES.map((status) => [status, 0])) as Record<
      SmsEventStatus,
      number
    >,
    details: new Map(),
    cost: 0,
    estimatedCostEvents: 0,
    responseCount: 0,
    responseMsSum: 0,
  };
}

export function add(totals: Totals, row: RollupRow): void {
  const status = String(row.status) as SmsEventStatus;
  if (!(status in totals.counts)) return;
  const events = Number(row.events ?? 0);
  totals.counts[status] += events;
  const detail = String(row.detail ?? '-');
  if (!totals.details.has(status)) totals.details.set(status, new Map());
  const details = totals.details.get(status)!;
  details.set(detail, (details.get(detail) ?? 0) + events);
  if (status === 'sent') {
    totals.cost += Number(row.cost ?? 0);
    totals.estimatedCostEvents += Number(row.estimated ?? 0);
  }
  totals.responseCount += Number(row.response_count ?? 0);
  totals.responseMsSum += Number(row.response_ms_sum ?? 0);
}

export const ratio = (part: number, whole: number): number | null =>
  whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000;

export function detailCount(totals: Totals, status: SmsEventStatus, detail: string): number {
  return totals.details.get(status)?.get(detail) ?? 0;
}

/** Sends whose delivery Twilio reports back (Messaging), and the others (Verify, console). */
export function deliveryTracking(totals: Totals) {
  let trackedSends = 0;
  for (const channel of RECEIPT_CHANNELS) trackedSends += detailCount(totals, 'sent', channel);
  return { trackedSends, untrackedSends: totals.counts.sent - trackedSends };
}

/**
 * Rates over real sends only: test numbers and suppressed sends have statuses of their own. The
 * delivery rate is over the receipts that came back, so it is null (not tracked) when no send
 * of the period went through a channel with receipts.
 */
export function rates(totals: Totals) {
  const { counts } = totals;
  const { trackedSends } = deliveryTracking(totals);
  return {
    deliveryRate:
      trackedSends === 0 ? null : ratio(counts.delivered, counts.delivered + counts.undelivered),
    verificationRate: ratio(counts.verified, counts.sent),
    failureRate: ratio(counts.failed + counts.undelivered, counts.sent + counts.failed),
  };
}

/** The details of one status, largest first. */
export function byDetail(
  totals: Totals,
  status: SmsEventStatus,
): { layer: string; count: number }[] {
  return [...(totals.details.get(status) ?? new Map<string, number>())]
    .filter(([, count]) => count > 0)
    .map(([layer, count]) => ({ layer, count }))
    .sort((left, right) => right.count - left.count || left.layer.localeCompare(right.layer));
}

export function incidents(totals: Totals): Record<SecurityIncidentKind, number> {
  const byKind = Object.fromEntries(SECURITY_INCIDENT_KINDS.map((kind) => [kind, 0])) as Record<
    SecurityIncidentKind,
    number
  >;
  for (const status of ['security', 'rate_limited'] as const) {
    for (const [layer, count] of totals.details.get(status) ?? []) {
      const kind = securityIncidentOf({ status, layer });
      if (kind) byKind[kind] += count;
    }
  }
  return byKind;
}

export const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);

export function incidentTotals(totals: Totals) {
  const byKind = incidents(totals);
  return { total: sum(Object.values(byKind)), wrongCodes: totals.counts.wrong_code, byKind };
}

export function round(value: number): number {
  return Math.round(value * 1_000_000) / 1_000_000;
}
