import {
  BeforeApplicationShutdown,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../../common/clock';
import { RecurringJobs } from '../../common/recurring-jobs';
import { RecurringTask } from '../../common/recurring-task';
import { SECURITY_RATE_LIMIT_LAYERS } from '../../common/events/sms-events';
import { Configuration } from '../../config/configuration';
import { PumpingGuardService } from '../../sms/abuse/pumping/pumping-guard.service';
import { SmsHoldRepository } from '../../sms/abuse/pumping/sms-hold.repository';
import { ReportsRepository } from '../reports.repository';
import { addInto, emptyHistogram, percentileOf } from '../response-time-histogram';
import { WebhookStats } from '../webhooks/webhook-stats';
import { AlertNotifier } from './alert-notifier';
import { AlertMeasurements, AlertRule, judgeAlerts } from './alert-rules';
import { AlertsConfig } from './alerts.config';
import { Sql } from '../../database/sql';
import { SessionLock } from '../../database/session-lock';
import { AlertView, SmsAlertRepository } from './sms-alert.repository';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** Any constant unique among this database's advisory locks. */
export const EVALUATOR_LOCK_KEY = 0x534d5341;
/** Rules with an alert per subject: one whose subject has no firing verdict any more resolves. */
const PER_SUBJECT_RULES: AlertRule[] = ['pumping_hold'];

export interface AlertEvaluation {
  /** False when another instance evaluates the alerts. */
  evaluated: boolean;
  opened: AlertView[];
  resolved: AlertView[];
}

/**
 * Checks the alert thresholds of docs/PRODUCT.md#alerts every ALERT_EVALUATION_INTERVAL_MS, on one
 * instance at a time. A new alert is logged once and sent once to ALERT_WEBHOOK_URL; it resolves
 * when its value is back at or under the threshold. Runs off the request path; a failed evaluation
 * (the database unreachable) is logged once per cause and retried with back-off (RecurringTask). A
 * pumping hold is an alert of its own from the moment this instance starts it (an evaluation runs
 * at once; another instance's holds are seen at the next one) until it ends.
 */
@Injectable()
export class AlertEvaluator implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AlertEvaluator');
  private readonly config: AlertsConfig;
  private readonly currency: string;
  private readonly analyticsEnabled: boolean;
  private readonly pumpingMinConversion: number;
  /**
   * Held for as long as this instance is the evaluator, across evaluations: the rules on
   * instance-local data (webhook failures) must not flap as evaluation moves between instances.
   * When the instance dies, PostgreSQL drops the lock and another takes over at its next round.
   */
  private readonly lock: SessionLock;
  private evaluating = false;
  private readonly task: RecurringTask;
  private queue: Promise<unknown> = Promise.resolve();
  private stopping = false;

  constructor(
    private readonly alerts: SmsAlertRepository,
    private readonly reports: ReportsRepository,
    private readonly webhooks: WebhookStats,
    private readonly notifier: AlertNotifier,
    private readonly holds: SmsHoldRepository,
    private readonly pumping: PumpingGuardService,
    private readonly clock: Clock,
    sql: Sql,
    config: ConfigService<Configuration, true>,
    jobs: RecurringJobs,
  ) {
    this.pumpingMinConversion = config.get('pumping', { infer: true }).minConversion;
    this.config = config.get('alerts', { infer: true });
    this.currency = config.get('budget', { infer: true }).currency;
    this.analyticsEnabled = config.get('analytics', { infer: true }).enabled;
    this.lock = sql.sessionLock(EVALUATOR_LOCK_KEY, 'sms-alert-evaluator');
    this.task = jobs.create(
      { name: 'alert evaluation', intervalMs: this.config.evaluationIntervalMs },
      () => this.evaluate(),
      this.logger,
    );
  }

  onApplicationBootstrap(): void {
    if (!this.analyticsEnabled) {
      this.logger.warn(
        'ENABLE_SMS_ANALYTICS=false: no SMS events are recorded, so only the webhook-failure alert has data',
      );
    }
    this.task.start();
    // An immediate evaluation, off the timer: a failure here waits for the task's next round.
    this.pumping.onHoldStarted(() => {
      if (this.stopping) return;
      this.evaluate().catch((error: unknown) =>
        this.logger.warn({ err: error }, 'alert evaluation after a new hold failed'),
      );
    });
  }

  /** One evaluation of every rule; calls made while one runs wait for it and run after it. */
  evaluate(): Promise<AlertEvaluation> {
    const round = this.queue.then(() => this.round());
    this.queue = round.catch(() => undefined);
    return round;
  }

  private async round(): Promise<AlertEvaluation> {
    if (!(await this.lock.acquire())) {
      this.evaluating = false;
      return { evaluated: false, opened: [], resolved: [] };
    }
    if (!this.evaluating) this.logger.log('this instance evaluates the alert rules');
    this.evaluating = true;
    const now = this.clock.now();
    const verdicts = judgeAlerts(await this.measure(now), this.config, this.currency);
    const opened: AlertView[] = [];
    const resolved: AlertView[] = [];
    for (const verdict of verdicts) {
      if (verdict.firing) {
        const alert = await this.alerts.raise(verdict, now);
        if (!alert) continue;
        opened.push(alert);
        this.logger.warn(
          { alert: { rule: alert.rule, value: alert.value, threshold: alert.threshold } },
          `Alert: ${alert.message}`,
        );
      } else {
        const alert = await this.alerts.resolve(verdict.rule, now, verdict.subject);
        if (!alert) continue;
        resolved.push(alert);
        this.logger.log(
          { alert: { rule: alert.rule, value: verdict.value, threshold: alert.threshold } },
          `Alert resolved: ${alert.rule} is back at ${verdict.value}`,
        );
      }
    }
    for (const rule of PER_SUBJECT_RULES) {
      const current = verdicts.flatMap((verdict) =>
        verdict.rule === rule && verdict.firing && verdict.subject ? [verdict.subject] : [],
      );
      for (const alert of await this.alerts.resolveAllBut(rule, current, now)) {
        resolved.push(alert);
        this.logger.log({ alert: { rule: alert.rule } }, `Alert resolved: ${alert.message}`);
      }
    }
    await this.notifyUndelivered();
    return { evaluated: true, opened, resolved };
  }

  private async measure(now: Date): Promise<AlertMeasurements> {
    const hourAgo = new Date(now.getTime() - HOUR_MS);
    const lastHour = await this.reports.eventCounts(hourAgo, now, SECURITY_RATE_LIMIT_LAYERS);
    // Every request of the SMS and auth routes, from every instance (request-timings.ts).
    const timings = await this.reports.requestTimingHistograms(
      new Date(hourAgo.getTime() - MINUTE_MS),
      now,
    );
    const histogram = emptyHistogram();
    for (const timing of timings) addInto(histogram, timing);
    const midnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    // The hourly rollups already carry Twilio's price where it replaced the estimate.
    const dailyCost = await this.reports.sentCost(midnight, now);
    return {
      sends: lastHour.sends,
      failures: lastHour.failures,
      responseTimeP95Ms: percentileOf(histogram, 0.95),
      rateLimitViolations: lastHour.rate_limited,
      dailyCost,
      webhookFailures: this.webhooks.failuresInLastHour(),
      pumpingHolds: await this.holds.active(now),
      pumpingMinConversion: this.pumpingMinConversion,
      securityIncidents: lastHour.security,
    };
  }

  /** New alerts, and earlier ones the webhook refused or did not answer. */
  private async notifyUndelivered(): Promise<void> {
    if (!this.notifier.configured) return;
    for (const alert of await this.alerts.undelivered()) {
      if (this.stopping) return;
      const accepted = await this.notifier.notify({
        rule: alert.rule,
        value: alert.value,
        threshold: alert.threshold,
        message: alert.message,
        startedAt: alert.startedAt,
      });
      if (accepted) await this.alerts.markNotified(alert.id, this.clock.now());
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.task.stop();
    await this.queue;
    await this.lock.release();
  }
}
