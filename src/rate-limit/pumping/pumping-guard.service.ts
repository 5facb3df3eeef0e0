import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../../common/clock';
import { SmsEvents } from '../../common/events/sms-events';
import { Configuration } from '../../config/configuration';
import { BatchedLookup } from '../../database/batched-lookup';
import { Sql } from '../../database/sql';
import { PumpingConfig } from '../rate-limit.config';
import { SmsDestinationPausedError } from '../rate-limit.errors';
import { HoldMode, HoldScope } from './sms-hold.entity';

export interface SendDestination {
  country: string;
  prefixHash: string;
  /** The range as operators see it, e.g. "+25191123····". */
  prefixLabel: string;
}

interface ActiveHold {
  id: string;
  scope: HoldScope;
  scope_key: string;
  mode: HoldMode;
  expires_at: Date;
}

interface Conversion {
  sends: number;
  verified: number;
}

/** How long a cached answer is trusted; holds and conversion are statistics, not counters. */
const HOLDS_TTL_MS = 2_000;
const CONVERSION_TTL_MS = 10_000;

/**
 * SMS pumping protection: when a country or number range sends many codes that are rarely
 * verified, new sends there are held (or, in shadow mode, only reported) until an operator lifts
 * the hold or it expires. Reads are cached briefly so the send path stays cheap.
 */
@Injectable()
export class PumpingGuardService {
  private readonly logger = new Logger('PumpingGuard');
  private readonly config: PumpingConfig;
  private holds?: { at: number; rows: ActiveHold[] };
  private readonly conversions = new Map<
    string,
    { at: number; value: Conversion; localSends: number }
  >();

  private readonly counts: Record<HoldScope, BatchedLookup<string, Conversion>> = {
    country: this.conversionLookup('country'),
    prefix: this.conversionLookup('prefix'),
  };

  constructor(
    private readonly sql: Sql,
    private readonly clock: Clock,
    private readonly events: SmsEvents,
    config: ConfigService<Configuration, true>,
  ) {
    this.config = config.get('pumping', { infer: true });
  }

  async assertAllowed(destination: SendDestination): Promise<void> {
    if (this.config.mode === 'off') return;
    const now = this.clock.now();
    const scopes: { scope: HoldScope; key: string; label: string }[] = [
      { scope: 'country', key: destination.country, label: destination.country },
      { scope: 'prefix', key: destination.prefixHash, label: destination.prefixLabel },
    ];
    const holds = await this.activeHolds(now);
    for (const { scope, key } of scopes) {
      const hold = holds.find(
        (candidate) => candidate.scope === scope && candidate.scope_key === key,
      );
      if (hold?.mode === 'enforced') throw this.paused(hold.expires_at, now);
    }
    for (const { scope, key, label } of scopes) {
      if (holds.some((candidate) => candidate.scope === scope && candidate.scope_key === key))
        continue;
      const conversion = await this.conversion(scope, key, now);
      if (conversion.sends < this.config.minSends) continue;
      if (conversion.verified / conversion.sends >= this.config.minConversion) continue;
      const hold = await this.createHold(scope, key, label, conversion, now);
      if (hold?.mode === 'enforced') {
        this.events.publish({
          status: 'held',
          occurredAt: now,
          country: destination.country,
          layer: `pumping-${scope}`,
        });
        throw this.paused(hold.expires_at, now);
      }
    }
  }

  /** Forget cached holds, e.g. right after an operator lifted one. */
  invalidate(): void {
    this.holds = undefined;
    this.conversions.clear();
  }

  private paused(expiresAt: Date, now: Date): SmsDestinationPausedError {
    return new SmsDestinationPausedError(
      Math.max(1, Math.ceil((expiresAt.getTime() - now.getTime()) / 1000)),
    );
  }

  private async activeHolds(now: Date): Promise<ActiveHold[]> {
    if (this.holds && now.getTime() - this.holds.at < HOLDS_TTL_MS) return this.holds.rows;
    const rows = await this.sql.rows<ActiveHold>(
      `SELECT id, scope, scope_key, mode, expires_at FROM sms_holds
        WHERE lifted_at IS NULL AND expires_at > $1`,
      [now],
    );
    this.holds = { at: now.getTime(), rows };
    return rows;
  }

  /**
   * Sends and verifications of a scope in the window. A fresh cached answer still below the floor
   * is trusted while this instance's own sends since then keep it below; past the floor, cached
   * answers serve until they age out. One instance sees its own crossing at once, others within
   * CONVERSION_TTL_MS.
   */
  private async conversion(scope: HoldScope, key: string, now: Date): Promise<Conversion> {
    const cacheKey = `${scope}:${key}`;
    const cached = this.conversions.get(cacheKey);
    if (cached && now.getTime() - cached.at < CONVERSION_TTL_MS) {
      if (cached.value.sends >= this.config.minSends) return cached.value;
      cached.localSends += 1;
      if (cached.value.sends + cached.localSends < this.config.minSends) return cached.value;
    }
    const value = await this.counts[scope].get(key);
    if (this.conversions.size > 10_000) this.conversions.clear();
    this.conversions.set(cacheKey, { at: now.getTime(), value, localSends: 0 });
    return value;
  }

  /**
   * Sends and verifications per key of a scope in the window, the keys of one event-loop turn in
   * one query. A range an operator lifted recently is judged only on what it sent after the lift.
   */
  private conversionLookup(scope: HoldScope): BatchedLookup<string, Conversion> {
    const [column, keyType] =
      scope === 'country' ? ['country_code', 'bpchar'] : ['phone_prefix_hash', 'varchar'];
    return new BatchedLookup(
      async (keys) => {
        const since = new Date(this.clock.now().getTime() - this.config.windowMs);
        const rows = await this.sql.rows<{ key: string; sends: string; verified: string }>(
          `SELECT scoped.key, count(verification.id) AS sends,
                  count(verification.verified_at) AS verified
             FROM unnest($1::${keyType}[]) AS scoped (key)
             CROSS JOIN LATERAL (
               SELECT GREATEST($2::timestamptz, COALESCE(max(lifted_at), $2::timestamptz)) AS since
                 FROM sms_holds WHERE scope = $3 AND scope_key = scoped.key) AS bound
             LEFT JOIN sms_verifications AS verification
               ON verification.${column} = scoped.key
              AND verification.channel NOT IN ('test-number', 'suppressed')
              AND verification.created_at > bound.since
            GROUP BY scoped.key`,
          [keys, since, scope],
        );
        return new Map(
          rows.map((row) => [
            row.key,
            { sends: Number(row.sends), verified: Number(row.verified) },
          ]),
        );
      },
      { sends: 0, verified: 0 },
    );
  }

  private async createHold(
    scope: HoldScope,
    key: string,
    label: string,
    conversion: Conversion,
    now: Date,
  ): Promise<ActiveHold | undefined> {
    const mode: HoldMode = this.config.mode === 'shadow' ? 'shadow' : 'enforced';
    const expiresAt = new Date(now.getTime() + this.config.holdDurationMs);
    // One active hold per scope, whichever instance gets there first; an expired one is renewed.
    const [hold] = await this.sql.rows<ActiveHold & { inserted: boolean }>(
      `INSERT INTO sms_holds (scope, scope_key, label, mode, sends, verified, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (scope, scope_key) WHERE lifted_at IS NULL
       DO UPDATE SET mode = EXCLUDED.mode, sends = EXCLUDED.sends, verified = EXCLUDED.verified,
                     created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
         WHERE sms_holds.expires_at <= EXCLUDED.created_at
       RETURNING id, scope, scope_key, mode, expires_at, (xmax = 0) AS inserted`,
      [scope, key, label, mode, conversion.sends, conversion.verified, now, expiresAt],
    );
    this.holds = undefined;
    if (!hold) return undefined;
    this.logger.warn(
      { scope, label, mode, sends: conversion.sends, verified: conversion.verified },
      `SMS pumping suspected: ${mode === 'enforced' ? 'sends held' : 'shadow mode, sends continue'}`,
    );
    return hold;
  }
}
