import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../../../common/clock';
import { Configuration } from '../../../config/configuration';
import { BatchedLookup } from '../../../database/batched-lookup';
import { PumpingConfig } from '../abuse.config';
import { HoldScope } from './sms-hold.entity';
import { ActiveHold, HoldStatistics, SmsHoldRepository, StartedHold } from './sms-hold.repository';

export interface SendDestination {
  country: string;
  prefixHash: string;
  /** The range as operators see it, e.g. "+25191123····". */
  prefixLabel: string;
}

/** Told of every hold this instance starts (metrics, alerts); must not throw. */
export type HoldListener = (hold: StartedHold) => void;

/** How long a cached answer is trusted; holds and conversion are statistics, not counters. */
const HOLDS_TTL_MS = 2_000;
const STATISTICS_TTL_MS = 10_000;

const NO_TRAFFIC: HoldStatistics = { sends: 0, verified: 0, ranges: null, networks: null };

/**
 * SMS pumping protection. Codes sent to premium ranges by a fraudster are never verified, so a
 * scope whose codes are rarely verified is held (in shadow mode, only reported) until an operator
 * lifts the hold or it expires.
 *
 * Holds start at the smallest scope that explains the traffic: a number range (the number minus
 * its last 4 digits), judged on its own sends. A whole country is held only when low conversion
 * remains once the ranges that explain their own traffic are set aside (held, or holdable) AND
 * its unverified sends span many ranges
 * (SMS_PUMPING_COUNTRY_MIN_RANGES) from many client networks (SMS_PUMPING_COUNTRY_MIN_NETWORKS):
 * a single attacker, who sends from a few networks, can hold the ranges it pumps but not the
 * country. And a hold never stops a number that verified before (see VerificationSender): it
 * decides only what strangers get.
 *
 * Reads are cached briefly so the send path stays cheap.
 */
@Injectable()
export class PumpingGuardService {
  private readonly logger = new Logger('PumpingGuard');
  private readonly config: PumpingConfig;
  private readonly listeners: HoldListener[] = [];
  private holds?: { at: number; rows: ActiveHold[] };
  private readonly statistics = new Map<
    string,
    { at: number; value: HoldStatistics; localSends: number }
  >();

  private readonly counts: Record<HoldScope, BatchedLookup<string, HoldStatistics>> = {
    prefix: new BatchedLookup(
      (keys) => this.repository.rangeStatistics(keys, this.windowStart()),
      NO_TRAFFIC,
    ),
    country: new BatchedLookup(
      (keys) =>
        this.repository.countryStatistics(keys, this.windowStart(), this.clock.now(), {
          minSends: this.config.minSends,
          minConversion: this.config.minConversion,
        }),
      NO_TRAFFIC,
    ),
  };

  constructor(
    private readonly repository: SmsHoldRepository,
    private readonly clock: Clock,
    config: ConfigService<Configuration, true>,
  ) {
    this.config = config.get('pumping', { infer: true });
  }

  /** Whether holds can exist at all (SMS_PUMPING_MODE is not off). */
  get enabled(): boolean {
    return this.config.mode !== 'off';
  }

  onHoldStarted(listener: HoldListener): void {
    this.listeners.push(listener);
  }

  /**
   * The enforced hold a send to this destination falls under (its range's first, then its
   * country's), or undefined. Starts the holds the statistics call for on the way.
   */
  async holdOn(destination: SendDestination): Promise<ActiveHold | undefined> {
    if (!this.enabled) return undefined;
    const now = this.clock.now();
    const holds = await this.activeHolds(now);
    const active = (scope: HoldScope, key: string) =>
      holds.find((hold) => hold.scope === scope && hold.scopeKey === key);

    const range =
      active('prefix', destination.prefixHash) ?? (await this.judgeRange(destination, now));
    const country =
      active('country', destination.country) ?? (await this.judgeCountry(destination, now));
    return [range, country].find((hold) => hold?.mode === 'enforced');
  }

  /** Forget cached holds and statistics, e.g. right after an operator lifted a hold. */
  invalidate(): void {
    this.holds = undefined;
    this.statistics.clear();
  }

  private async judgeRange(
    destination: SendDestination,
    now: Date,
  ): Promise<ActiveHold | undefined> {
    const statistics = await this.cachedStatistics('prefix', destination.prefixHash, now);
    if (!this.lowConversion(statistics)) return undefined;
    return this.start('prefix', destination.prefixHash, destination.prefixLabel, statistics, now);
  }

  private async judgeCountry(
    destination: SendDestination,
    now: Date,
  ): Promise<ActiveHold | undefined> {
    const { country } = destination;
    const statistics = await this.cachedStatistics('country', country, now);
    if (!this.warrantsCountryHold(statistics)) return undefined;
    return this.start('country', country, country, statistics, now);
  }

  private lowConversion({ sends, verified }: HoldStatistics): boolean {
    return sends >= this.config.minSends && verified / sends < this.config.minConversion;
  }

  private warrantsCountryHold(statistics: HoldStatistics): boolean {
    return (
      this.lowConversion(statistics) &&
      (statistics.ranges ?? 0) >= this.config.countryMinRanges &&
      (statistics.networks ?? 0) >= this.config.countryMinNetworks
    );
  }

  private windowStart(): Date {
    return new Date(this.clock.now().getTime() - this.config.windowMs);
  }

  private async activeHolds(now: Date): Promise<ActiveHold[]> {
    if (this.holds && now.getTime() - this.holds.at < HOLDS_TTL_MS) return this.holds.rows;
    const rows = await this.repository.active(now);
    this.holds = { at: now.getTime(), rows };
    return rows;
  }

  /**
   * A scope's statistics in the window. A fresh cached answer still below the floor is trusted
   * while this instance's own sends since then keep it below; past the floor, cached answers serve
   * until they age out. One instance sees its own crossing at once, others within
   * STATISTICS_TTL_MS.
   */
  private async cachedStatistics(
    scope: HoldScope,
    key: string,
    now: Date,
  ): Promise<HoldStatistics> {
    const cached = this.statistics.get(`${scope}:${key}`);
    if (cached && now.getTime() - cached.at < STATISTICS_TTL_MS) {
      if (cached.value.sends >= this.config.minSends) return cached.value;
      cached.localSends += 1;
      if (cached.value.sends + cached.localSends < this.config.minSends) return cached.value;
    }
    const value = await this.counts[scope].get(key);
    if (this.statistics.size > 10_000) this.statistics.clear();
    this.statistics.set(`${scope}:${key}`, { at: now.getTime(), value, localSends: 0 });
    return value;
  }

  /** Starts a hold, or finds the one another instance started first. */
  private async start(
    scope: HoldScope,
    key: string,
    label: string,
    statistics: HoldStatistics,
    now: Date,
  ): Promise<ActiveHold | undefined> {
    const started = await this.repository.start({
      scope,
      scopeKey: key,
      label,
      mode: this.config.mode === 'shadow' ? 'shadow' : 'enforced',
      statistics,
      now,
      expiresAt: new Date(now.getTime() + this.config.holdDurationMs),
    });
    this.holds = undefined;
    if (!started) {
      const current = await this.activeHolds(now);
      return current.find((hold) => hold.scope === scope && hold.scopeKey === key);
    }
    this.logger.warn(
      {
        hold: {
          scope,
          label,
          mode: started.mode,
          sends: statistics.sends,
          verified: statistics.verified,
          ranges: statistics.ranges,
          networks: statistics.networks,
        },
      },
      `SMS pumping suspected: ${scope === 'prefix' ? 'number range' : 'country'} ${label} ` +
        (started.mode === 'enforced'
          ? 'held (numbers that verified before still get codes)'
          : 'held in shadow mode (sends continue)'),
    );
    for (const listener of this.listeners) {
      try {
        listener(started);
      } catch (error) {
        this.logger.error({ err: error }, 'a hold listener failed');
      }
    }
    return started;
  }
}
