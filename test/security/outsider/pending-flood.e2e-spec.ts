import { Client } from 'pg';
import { FakeTwilioServer } from '../../fakes/fake-twilio-server';
import { createTestDatabase, dropTestDatabase, withDatabase } from '../../support/databases';
import { messagingEnv, startFakeTwilio } from '../../support/fake-twilio-app';
import { TestApp, startTestApp } from '../../support/test-app';
import { codeSentTo } from '../../support/traffic';

/**
 * An attacker who got thousands of codes sent leaves as many pending verifications. PostgreSQL's
 * statistics of a large table are only renewed after a tenth of it changed, so they still say that
 * hardly any row is pending, and a plan chosen by them reads every pending row, through the
 * (status, expires_at) index or the one-pending-row-per-number index, for each lookup of a single
 * verification: every user's send and check then costs as much as the attacker has codes.
 *
 * Here the table's statistics are taken before the flood and autovacuum is off for it (as on a
 * table of millions, where the flood is far from a tenth); a user's whole flow must then read the
 * pending rows of that user only. Rows read are PostgreSQL's own counters, flushed when the
 * app's connections close.
 */

const HISTORY = 50_000;
const FLOOD = 5_000;
/** Index and sequential reads the user's flow below may cause: far below one pass over the flood. */
const READS_ALLOWED = 50;

describe("An attacker's pending codes do not slow anyone else's", () => {
  let fake: FakeTwilioServer;
  let database: { name: string; url: string };
  let service: TestApp;

  const withClient = <T>(work: (client: Client) => Promise<T>) => withDatabase(database.url, work);

  /** Rows read from sms_verifications other than by primary key or phone number. */
  function broadReads(): Promise<number> {
    return withClient(async (client) => {
      const { rows } = await client.query<{ reads: number }>(
        `SELECT (SELECT COALESCE(seq_tup_read, 0) FROM pg_stat_user_tables
                  WHERE relname = 'sms_verifications')
              + (SELECT COALESCE(sum(idx_tup_read), 0) FROM pg_stat_user_indexes
                  WHERE relname = 'sms_verifications'
                    AND indexrelname IN ('idx_status_expires', 'uq_sms_verifications_live'))
                AS reads`,
      );
      return Number(rows[0].reads);
    });
  }

  beforeAll(async () => {
    fake = await startFakeTwilio();
    database = await createTestDatabase();
    await withClient(async (client) => {
      await client.query(`ALTER TABLE sms_verifications SET (autovacuum_enabled = false)`);
      await client.query(
        `INSERT INTO sms_verifications (phone_number_hash, purpose, status, channel, locale,
           country_code, last_sent_at, expires_at, created_at, updated_at)
         SELECT md5('history' || n), 'login', 'expired', 'twilio-messaging', 'en', 'ET',
                now() - interval '2 days', now() - interval '2 days', now() - interval '2 days',
                now() - interval '2 days'
           FROM generate_series(1, ${HISTORY}) AS n`,
      );
      await client.query(`ANALYZE sms_verifications`);
      await client.query(
        `INSERT INTO sms_verifications (phone_number_hash, purpose, status, channel, locale,
           country_code, last_sent_at, expires_at, created_at, updated_at)
         SELECT md5('flood' || n), 'registration', 'pending', 'twilio-messaging', 'en', 'US',
                now(), now() + interval '1 hour', now(), now()
           FROM generate_series(1, ${FLOOD}) AS n`,
      );
    });
    service = await startTestApp({
      databaseUrl: database.url,
      skipAccountFilter: true,
      env: messagingEnv(fake, { SMS_MAX_ATTEMPTS: '3' }),
    });
  });

  afterAll(async () => {
    await service?.close();
    await fake?.stop();
    if (database) await dropTestDatabase(database.name);
  });

  it("reads only the user's own rows through a whole flow, however many codes are pending", async () => {
    const before = await broadReads();
    const send = (phoneNumber: string) =>
      service
        .http()
        .post('/sms/send-verification')
        .send({ phoneNumber, purpose: 'registration' })
        .expect(200);
    const check = (phoneNumber: string, code: string) =>
      service.http().post('/sms/verify-code').send({ phoneNumber, code, purpose: 'registration' });
    const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

    // A user asks for a code, asks again, mistypes it, then gets it right.
    const user = '+251911555101';
    await send(user);
    await send(user);
    const code = codeSentTo(fake, user);
    expect((await check(user, wrong(code))).body).toMatchObject({ valid: false });
    expect((await check(user, code)).body).toMatchObject({ valid: true });

    // Another runs out of attempts, and tries once more.
    const other = '+251911555102';
    await send(other);
    const otherCode = codeSentTo(fake, other);
    await check(other, wrong(otherCode)).expect(200);
    await check(other, wrong(otherCode)).expect(200);
    await check(other, wrong(otherCode)).expect(429);
    await check(other, otherCode).expect(404);

    // The app's connections report what they read when they close.
    await service.close();
    expect((await broadReads()) - before).toBeLessThan(READS_ALLOWED);
  });
});
