import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sql } from '../database/sql';

/**
 * Readiness of PostgreSQL (or the embedded database): `SELECT 1` on the app's own pool. Unlike
 * Terminus' TypeORM check, a failure says nothing more than "unreachable": the probe is public,
 * and the driver's message names the database's host and port.
 */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly sql: Sql,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(key = 'database', timeoutMs = 1_500): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    const timer = new AbortController();
    try {
      const answered = await Promise.race([
        this.sql.rows('SELECT 1').then(() => true),
        sleep(timeoutMs, false, { signal: timer.signal }),
      ]);
      if (answered) return indicator.up();
    } catch {
      // Refused, reset or timed out: all the same to a probe.
    } finally {
      timer.abort();
    }
    return indicator.down({ message: 'The database is unreachable' });
  }
}
