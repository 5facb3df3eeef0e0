import { Injectable } from '@nestjs/common';
import { Sql } from '../../database/sql';
import { AlertVerdict } from './alert-rules';

interface AlertRow {
  id: string;
  rule: string;
  value: number;
  threshold: number;
  message: string;
  started_at: Date;
  resolved_at: Date | null;
  notified_at: Date | null;
}

/** An alert as operators and the webhook see it. */
export interface AlertView {
  id: string;
  rule: string;
  value: number;
  threshold: number;
  message: string;
  startedAt: string;
  resolvedAt: string | null;
  notifiedAt: string | null;
}

const COLUMNS = 'id, rule, value, threshold, message, started_at, resolved_at, notified_at';
const RECENT_LIMIT = 50;

function view(row: AlertRow): AlertView {
  return {
    id: row.id,
    rule: row.rule,
    value: row.value,
    threshold: row.threshold,
    message: row.message,
    startedAt: row.started_at.toISOString(),
    resolvedAt: row.resolved_at?.toISOString() ?? null,
    notifiedAt: row.notified_at?.toISOString() ?? null,
  };
}

/**
 * The sms_alerts table: at most one open alert per rule and subject (uq_sms_alerts_open); the
 * subject is '' for the rules about the whole service.
 */
@Injectable()
export class SmsAlertRepository {
  constructor(private readonly sql: Sql) {}

  /** Updates the rule's open alert, or opens one; resolves to the alert only when it is new. */
  async raise(verdict: AlertVerdict, now: Date): Promise<AlertView | undefined> {
    const values = [
      verdict.rule,
      verdict.value,
      verdict.threshold,
      verdict.message,
      now,
      verdict.subject ?? '',
    ];
    const updated = await this.sql.rows(
      `UPDATE sms_alerts SET value = $2, threshold = $3, message = $4, updated_at = $5
        WHERE rule = $1 AND subject = $6 AND resolved_at IS NULL RETURNING id`,
      values,
    );
    if (updated.length > 0) return undefined;
    const [opened] = await this.sql.rows<AlertRow>(
      `INSERT INTO sms_alerts (rule, value, threshold, message, started_at, updated_at, subject)
       VALUES ($1, $2, $3, $4, $5, $5, $6)
       ON CONFLICT (rule, subject) WHERE resolved_at IS NULL DO NOTHING
       RETURNING ${COLUMNS}`,
      values,
    );
    return opened ? view(opened) : undefined;
  }

  /**
   * Resolves the rule's open alert, keeping the last value seen above the threshold; resolves to
   * the alert when there was one.
   */
  async resolve(rule: string, now: Date, subject = ''): Promise<AlertView | undefined> {
    const [resolved] = await this.sql.rows<AlertRow>(
      `UPDATE sms_alerts SET resolved_at = $2
        WHERE rule = $1 AND subject = $3 AND resolved_at IS NULL
        RETURNING ${COLUMNS}`,
      [rule, now, subject],
    );
    return resolved ? view(resolved) : undefined;
  }

  /** Resolves the rule's open alerts about any subject but `current`; resolves to them. */
  async resolveAllBut(rule: string, current: string[], now: Date): Promise<AlertView[]> {
    const resolved = await this.sql.rows<AlertRow>(
      `UPDATE sms_alerts SET resolved_at = $2
        WHERE rule = $1 AND resolved_at IS NULL AND subject <> ALL($3::varchar[])
        RETURNING ${COLUMNS}`,
      [rule, now, current],
    );
    return resolved.map(view);
  }

  /** Open alerts the webhook has not accepted yet. */
  async undelivered(): Promise<AlertView[]> {
    const rows = await this.sql.rows<AlertRow>(
      `SELECT ${COLUMNS} FROM sms_alerts WHERE resolved_at IS NULL AND notified_at IS NULL
        ORDER BY started_at`,
    );
    return rows.map(view);
  }

  async markNotified(id: string, now: Date): Promise<void> {
    await this.sql.rows(
      `UPDATE sms_alerts SET notified_at = $2 WHERE id = $1 AND notified_at IS NULL`,
      [id, now],
    );
  }

  /** Open alerts, and the latest resolved ones; newest first. */
  async list(): Promise<{ active: AlertView[]; recent: AlertView[] }> {
    const active = await this.sql.rows<AlertRow>(
      `SELECT ${COLUMNS} FROM sms_alerts WHERE resolved_at IS NULL ORDER BY started_at DESC`,
    );
    const recent = await this.sql.rows<AlertRow>(
      `SELECT ${COLUMNS} FROM sms_alerts WHERE resolved_at IS NOT NULL
        ORDER BY started_at DESC LIMIT ${RECENT_LIMIT}`,
    );
    return { active: active.map(view), recent: recent.map(view) };
  }
}
