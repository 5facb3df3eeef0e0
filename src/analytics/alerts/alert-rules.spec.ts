import { loadConfiguration } from '../../config/load-configuration';
import { AlertMeasurements, AlertRule, judgeAlerts } from './alert-rules';

const QUIET: AlertMeasurements = {
  sends: 0,
  failures: 0,
  responseTimeP95Ms: null,
  rateLimitViolations: 0,
  dailyCost: 0,
  webhookFailures: 0,
  pumpingHolds: [],
  pumpingMinConversion: 0.2,
  securityIncidents: 0,
};

function verdict(
  rule: AlertRule,
  measured: Partial<AlertMeasurements>,
  environment: Record<string, string> = {},
) {
  const { alerts } = loadConfiguration(environment);
  const found = judgeAlerts({ ...QUIET, ...measured }, alerts, 'USD').find(
    (candidate) => candidate.rule === rule,
  );
  return found!;
}

describe('judgeAlerts', () => {
  it('judges every rule, and nothing fires when all is quiet', () => {
    const { alerts } = loadConfiguration({});
    const verdicts = judgeAlerts(QUIET, alerts, 'USD');
    expect(verdicts.map((item) => item.rule)).toEqual([
      'failure_rate',
      'response_time',
      'rate_limit_violations',
      'daily_cost',
      'webhook_failures',
      'security_incidents',
    ]);
    expect(verdicts.filter((item) => item.firing)).toEqual([]);
  });

  describe('failure rate (above 5% of at least 20 sends)', () => {
    it.each([
      [20, 1, false, 0.05],
      [20, 2, true, 0.1],
      [100, 5, false, 0.05],
      [100, 6, true, 0.06],
      [19, 19, false, 1],
      [20, 20, true, 1],
    ])('%i sends, %i failed: firing %s at %d', (sends, failures, firing, value) => {
      expect(verdict('failure_rate', { sends, failures })).toMatchObject({
        firing,
        value,
        threshold: 0.05,
      });
    });

    it('follows ALERT_FAILURE_RATE and ALERT_MIN_SENDS', () => {
      const environment = { ALERT_FAILURE_RATE: '0.2', ALERT_MIN_SENDS: '5' };
      expect(verdict('failure_rate', { sends: 5, failures: 1 }, environment).firing).toBe(false);
      expect(verdict('failure_rate', { sends: 5, failures: 2 }, environment).firing).toBe(true);
    });

    it('says what it saw', () => {
      expect(verdict('failure_rate', { sends: 21, failures: 2 }).message).toBe(
        'SMS failure rate 9.5% over the last hour (2 failed or undelivered of 21 sends) is above 5%',
      );
    });
  });

  describe('response time (p95 above 2 s)', () => {
    it.each([
      [null, false],
      [2000, false],
      [2000.4, false],
      [2001, true],
    ])('p95 %p ms: firing %s', (responseTimeP95Ms, firing) => {
      expect(verdict('response_time', { responseTimeP95Ms }).firing).toBe(firing);
    });
  });

  it.each([
    ['rate_limit_violations', 'rateLimitViolations', 100],
    ['webhook_failures', 'webhookFailures', 10],
    ['security_incidents', 'securityIncidents', 50],
  ] as const)('%s fires above %s = %i, not at it', (rule, field, threshold) => {
    expect(verdict(rule, { [field]: threshold })).toMatchObject({ firing: false, threshold });
    expect(verdict(rule, { [field]: threshold + 1 })).toMatchObject({
      firing: true,
      value: threshold + 1,
    });
  });

  describe('daily cost', () => {
    it('is off without a budget or ALERT_DAILY_COST, and with ALERT_DAILY_COST=0', () => {
      expect(verdict('daily_cost', { dailyCost: 1_000_000 }).firing).toBe(false);
      const off = { ALERT_DAILY_COST: '0', SMS_DAILY_BUDGET: '100' };
      expect(verdict('daily_cost', { dailyCost: 1_000_000 }, off).firing).toBe(false);
    });

    it('fires above 80 % of SMS_DAILY_BUDGET when ALERT_DAILY_COST is unset', () => {
      const environment = { SMS_DAILY_BUDGET: '50' };
      expect(verdict('daily_cost', { dailyCost: 40 }, environment)).toMatchObject({
        firing: false,
        threshold: 40,
      });
      const above = verdict('daily_cost', { dailyCost: 40.5 }, environment);
      expect(above).toMatchObject({ firing: true, value: 40.5, threshold: 40 });
      expect(above.message).toBe(
        'SMS spend today (UTC) is 40.5 USD, above 40 USD (80% of SMS_DAILY_BUDGET; sends stop at the budget)',
      );
    });

    it('follows ALERT_DAILY_COST_BUDGET_SHARE, and ALERT_DAILY_COST over the budget share', () => {
      const half = { SMS_DAILY_BUDGET: '50', ALERT_DAILY_COST_BUDGET_SHARE: '0.5' };
      expect(verdict('daily_cost', { dailyCost: 26 }, half)).toMatchObject({
        firing: true,
        threshold: 25,
      });
      const none = { SMS_DAILY_BUDGET: '50', ALERT_DAILY_COST_BUDGET_SHARE: '0' };
      expect(verdict('daily_cost', { dailyCost: 49 }, none).firing).toBe(false);
      const explicit = { SMS_DAILY_BUDGET: '50', ALERT_DAILY_COST: '45' };
      expect(verdict('daily_cost', { dailyCost: 44 }, explicit)).toMatchObject({
        firing: false,
        threshold: 45,
      });
    });

    it('fires above ALERT_DAILY_COST, in the budget currency', () => {
      const environment = { ALERT_DAILY_COST: '25' };
      expect(verdict('daily_cost', { dailyCost: 25 }, environment).firing).toBe(false);
      // Sums of numeric(…, 6) costs: anything past the sixth decimal is float noise.
      expect(verdict('daily_cost', { dailyCost: 25.0000001 }, environment).firing).toBe(false);
      const above = verdict('daily_cost', { dailyCost: 25.01 }, environment);
      expect(above).toMatchObject({ firing: true, value: 25.01, threshold: 25 });
      expect(above.message).toBe('SMS spend today (UTC) is 25.01 USD, above 25 USD');
    });
  });

  describe('pumping holds', () => {
    const rangeHold = {
      id: '5b1c2d3e-0000-4000-8000-000000000001',
      scope: 'prefix' as const,
      label: '+25191123····',
      mode: 'enforced' as const,
      sends: 50,
      verified: 2,
      ranges: null,
      networks: null,
    };

    it('fires once per active hold, each its own subject, and not at all without holds', () => {
      const { alerts } = loadConfiguration({});
      const countryHold = {
        ...rangeHold,
        id: '5b1c2d3e-0000-4000-8000-000000000002',
        scope: 'country' as const,
        label: 'ET',
        mode: 'shadow' as const,
        sends: 400,
        verified: 20,
        ranges: 31,
        networks: 24,
      };
      const verdicts = judgeAlerts(
        { ...QUIET, pumpingHolds: [rangeHold, countryHold] },
        alerts,
        'USD',
      ).filter((item) => item.rule === 'pumping_hold');
      expect(
        verdicts.map(({ subject, firing, value, threshold }) => ({
          subject,
          firing,
          value,
          threshold,
        })),
      ).toEqual([
        { subject: rangeHold.id, firing: true, value: 0.04, threshold: 0.2 },
        { subject: countryHold.id, firing: true, value: 0.05, threshold: 0.2 },
      ]);
      expect(verdicts[0].message).toBe(
        'SMS pumping suspected: number range +25191123···· held (enforced). 2 of 50 codes ' +
          'verified (4%, below 20%). Numbers that verified before still get their codes; others ' +
          'are answered as usual and get nothing. Lift it on the dashboard (/admin) or with ' +
          `DELETE /admin/sms/holds/${rangeHold.id}.`,
      );
      expect(verdicts[1].message).toContain(
        'country ET held (shadow). 20 of 400 codes verified (5%, below 20%), the unverified ones ' +
          'to 31 number ranges from 24 client networks. Shadow mode',
      );
      expect(
        judgeAlerts(QUIET, alerts, 'USD').filter((item) => item.rule === 'pumping_hold'),
      ).toEqual([]);
    });
  });
});
