import { Client } from 'pg';
import { EventRecorder } from '../../src/analytics/events/event-recorder';
import { Clock } from '../../src/common/clock';
import { Hasher } from '../../src/common/hasher';
import { Sql } from '../../src/database/sql';
import { EXPIRY_SWEEP_LOCK_KEY, ExpirySweeper } from '../../src/sms/expiry-sweeper';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { FakeClock } from '../support/fake-clock';
import { messagingEnv, startFakeTwilio } from '../support/fake-twilio-app';
import { TestApp, startTestApp } from '../support/test-app';

const ADMIN_API_KEY = 'expiry-operator-key-0123456789abcdef01234';
const MINUTE_MS = 60_000;
/** SMS_EXPIRY_LOGIN_MINUTES' default. */
const LOGIN_MINUTES = 5;

/**
 * Expiry recorded when it happens (issue 15 item 2): a sweep, on one instance at a time, marks
 * pending verifications past their lifetime expired and records one `expired` event for each,
 * whoever else (another sweep, a new send's lazy path) gets to the row at the same moment.
 */
describe('Expiry sweep', () => {
  const clock = new FakeClock();
  let fake: FakeTwilioServer;
  let first: TestApp;
  let second: TestApp;
  let counter = 0;

  beforeAll(async () => {
    fake = await startFakeTwilio({ now: () => clock.now().getTime() });
    const env = messagingEnv(fake, {
      ADMIN_API_KEY,
      SMS_PUMPING_MODE: 'off',
      // The tests sweep by hand; the timer must not run in between.
      SMS_EXPIRY_SWEEP_INTERVAL_MS: '3600000',
      SMS_TEST_NUMBERS: '+251911000009:123456',
    });
    first = await startTestApp({
      env,
      skipAccountFilter: true,
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
    // A second instance on the same database.
    second = await startTestApp({
      env,
      skipAccountFilter: true,
      databaseUrl: first.databaseUrl,
      redisKeyPrefix: first.redisKeyPrefix,
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
    await fake?.stop();
  });

  const nextPhone = () => `+2519170${String((counter += 1)).padStart(5, '0')}`;

  async function send(phoneNumber: string, service = first) {
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber, purpose: 'login' })
      .expect(200);
    const [row] = await first.app.get(Sql).rows<{ id: string; expires_at: Date }>(
      `SELECT id, expires_at FROM sms_verifications
          WHERE phone_number_hash = $1 AND purpose = 'login' AND status = 'pending'`,
      [first.app.get(Hasher).hash('phone', phoneNumber)],
    );
    return row;
  }

  async function verificationStatus(id: string): Promise<string> {
    const [row] = await first.app
      .get(Sql)
      .rows<{ status: string }>(`SELECT status FROM sms_verifications WHERE id = $1`, [id]);
    return row.status;
  }

  async function expiredEvents(ids: string[]) {
    await first.app.get(EventRecorder).flush();
    await second.app.get(EventRecorder).flush();
    return first.app.get(Sql).rows<{ verification_id: string; status: string; occurred_at: Date }>(
      `SELECT verification_id, status, occurred_at FROM sms_events
          WHERE verification_id = ANY($1) AND status IN ('expired', 'test_expired')
          ORDER BY verification_id`,
      [ids],
    );
  }

  it('marks a code nobody used expired once its time is up, with one event dated then', async () => {
    const phoneNumber = nextPhone();
    const verification = await send(phoneNumber);
    clock.advance(LOGIN_MINUTES * MINUTE_MS - 1);
    await first.app.get(ExpirySweeper).sweepOnce();
    expect(await verificationStatus(verification.id)).toBe('pending');

    clock.advance(2 * MINUTE_MS);
    expect(await first.app.get(ExpirySweeper).sweepOnce()).toMatchObject({ status: 'completed' });
    expect(await verificationStatus(verification.id)).toBe('expired');
    expect(await expiredEvents([verification.id])).toEqual([
      { verification_id: verification.id, status: 'expired', occurred_at: verification.expires_at },
    ]);

    // Nothing to report a second time, and the summary counts it once.
    await first.app.get(ExpirySweeper).sweepOnce();
    expect(await expiredEvents([verification.id])).toHaveLength(1);
    const summary = await first
      .http()
      .get('/analytics/sms/summary')
      .set('Authorization', `Bearer ${ADMIN_API_KEY}`)
      .expect(200);
    expect(summary.body.counts.expired).toBeGreaterThanOrEqual(1);
  });

  it('keeps test numbers out of the expired count', async () => {
    const verification = await send('+251911000009');
    clock.advance((LOGIN_MINUTES + 1) * MINUTE_MS);
    await first.app.get(ExpirySweeper).sweepOnce();
    expect(await expiredEvents([verification.id])).toEqual([
      expect.objectContaining({ status: 'test_expired' }),
    ]);
  });

  it('reports each expiry exactly once with two instances sweeping and new sends racing them', async () => {
    const phones = Array.from({ length: 30 }, () => nextPhone());
    const verifications = [];
    for (const phoneNumber of phones) verifications.push(await send(phoneNumber));
    clock.advance((LOGIN_MINUTES + 1) * MINUTE_MS);

    // Both instances sweep while new sends to half the numbers expire their old codes lazily.
    await Promise.all([
      first.app.get(ExpirySweeper).sweepOnce(),
      second.app.get(ExpirySweeper).sweepOnce(),
      ...phones
        .filter((_, index) => index % 2 === 0)
        .map((phoneNumber, index) => send(phoneNumber, index % 2 === 0 ? first : second)),
    ]);
    await first.app.get(ExpirySweeper).sweepOnce();
    await second.app.get(ExpirySweeper).sweepOnce();

    const ids = verifications.map((verification) => verification.id);
    const events = await expiredEvents(ids);
    expect(events.map((event) => event.verification_id)).toEqual([...ids].sort());
    for (const id of ids) expect(await verificationStatus(id)).toBe('expired');
  });

  it('leaves a code to whoever expired it first, even mid-sweep', async () => {
    const verification = await send(nextPhone());
    clock.advance((LOGIN_MINUTES + 1) * MINUTE_MS);
    // The lazy path's statement (VerificationSender.expireStale), held open in a transaction
    // of its own while the sweep runs, then committed: that path reports the expiry, so the
    // sweep must not.
    const lazy = new Client({ connectionString: first.databaseUrl });
    await lazy.connect();
    try {
      await lazy.query('BEGIN');
      const expired = await lazy.query(
        `UPDATE sms_verifications SET status = 'expired', updated_at = $2
          WHERE id = $1 AND status = 'pending' RETURNING id`,
        [verification.id, clock.now()],
      );
      expect(expired.rowCount).toBe(1);
      const sweep = first.app.get(ExpirySweeper).sweepOnce();
      await new Promise((resolve) => setTimeout(resolve, 300));
      await lazy.query('COMMIT');
      await sweep;
    } finally {
      await lazy.end();
    }
    expect(await expiredEvents([verification.id])).toEqual([]);
  });

  it('runs on one instance at a time (an advisory lock)', async () => {
    const verification = await send(nextPhone());
    clock.advance((LOGIN_MINUTES + 1) * MINUTE_MS);
    const holder = new Client({ connectionString: first.databaseUrl });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [EXPIRY_SWEEP_LOCK_KEY]);
      expect(await first.app.get(ExpirySweeper).sweepOnce()).toEqual({ status: 'skipped' });
      expect(await second.app.get(ExpirySweeper).sweepOnce()).toEqual({ status: 'skipped' });
      expect(await verificationStatus(verification.id)).toBe('pending');
    } finally {
      await holder.end();
    }
    expect(await second.app.get(ExpirySweeper).sweepOnce()).toMatchObject({
      status: 'completed',
    });
    expect(await verificationStatus(verification.id)).toBe('expired');
  });
});

describe('Expiry sweep on its timer', () => {
  const clock = new FakeClock();
  let fake: FakeTwilioServer;
  let service: TestApp;

  beforeAll(async () => {
    fake = await startFakeTwilio({ now: () => clock.now().getTime() });
    service = await startTestApp({
      env: messagingEnv(fake, { SMS_EXPIRY_SWEEP_INTERVAL_MS: '1000' }),
      skipAccountFilter: true,
      override: (builder) => builder.overrideProvider(Clock).useValue(clock),
    });
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });

  it('expires codes every SMS_EXPIRY_SWEEP_INTERVAL_MS without being asked', async () => {
    await service
      .http()
      .post('/sms/send-verification')
      .send({ phoneNumber: '+251917100001', purpose: 'login' })
      .expect(200);
    clock.advance((LOGIN_MINUTES + 1) * MINUTE_MS);
    const sql = service.app.get(Sql);
    let status = 'pending';
    for (let wait = 0; wait < 100 && status === 'pending'; wait += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      [{ status }] = await sql.rows<{ status: string }>(`SELECT status FROM sms_verifications`);
    }
    expect(status).toBe('expired');
  });

  it('refuses an interval outside 1000-3600000 ms at boot', async () => {
    for (const value of ['999', '3600001', 'soon']) {
      await expect(startTestApp({ env: { SMS_EXPIRY_SWEEP_INTERVAL_MS: value } })).rejects.toThrow(
        /SMS_EXPIRY_SWEEP_INTERVAL_MS/,
      );
    }
  });
});
