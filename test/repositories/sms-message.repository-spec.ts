import { randomBytes, randomUUID } from 'node:crypto';
import {
  SmsMessageRepository,
  StatusChange,
  TrackedSend,
} from '../../src/analytics/delivery/sms-message.repository';
import { messageStatusRank } from '../../src/sms/providers/twilio/twilio-status-callback';
import { RepositoryDatabase, openRepositoryDatabase } from '../support/repository-database';

/**
 * The SQL of delivery tracking on sms_messages, against a migrated PostgreSQL (through
 * AnalyticsDatabase, as without ANALYTICS_DB_URL): status callbacks are idempotent and
 * order-tolerant whatever races, a price is recorded once, and the price poll finds exactly the
 * messages that are due.
 */
describe('SmsMessageRepository', () => {
  let database: RepositoryDatabase;
  let repository: SmsMessageRepository;
  const NOW = new Date('2026-06-01T12:00:00.000Z');
  const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

  beforeAll(async () => {
    database = await openRepositoryDatabase();
    repository = new SmsMessageRepository(database.analytics);
  });

  afterAll(() => database.close());

  const newSid = () => `SM${randomBytes(16).toString('hex')}`;

  function sent(overrides: Partial<TrackedSend> = {}): TrackedSend {
    return {
      status: 'sent',
      occurredAt: NOW,
      providerSid: newSid(),
      phoneHash: randomBytes(32).toString('hex'),
      country: 'ET',
      purpose: 'login',
      verificationId: randomUUID(),
      segments: 2,
      cost: 0.1,
      trackedAt: NOW,
      ...overrides,
    };
  }

  function change(sid: string, status: string, now: Date, errorCode: string | null = null) {
    const rank = messageStatusRank(status)!;
    return { sid, status, rank, errorCode, now } satisfies StatusChange;
  }

  async function stored(sid: string) {
    const [row] = await database.sql.rows<Record<string, unknown>>(
      `SELECT status, status_rank, error_code, segments, estimated_cost, price, price_unit,
              created_at, updated_at
         FROM sms_messages WHERE sid = $1`,
      [sid],
    );
    return row;
  }

  it('tracks each sent message once, as queued, whatever else claims its sid', async () => {
    const message = sent();
    const others = Array.from({ length: 5 }, () => sent());
    await Promise.all([
      repository.track(message),
      repository.track({ ...message, phoneHash: 'another', trackedAt: later(5) }),
      ...others.map((other) => repository.track(other)),
    ]);
    await repository.drained();

    expect(await stored(message.providerSid)).toEqual({
      status: 'queued',
      status_rank: 0,
      error_code: null,
      segments: 2,
      estimated_cost: '0.100000',
      price: null,
      price_unit: null,
      created_at: NOW,
      updated_at: NOW,
    });
    const [{ phone_hash: phoneHash }] = await database.sql.rows<{ phone_hash: string }>(
      'SELECT phone_hash FROM sms_messages WHERE sid = $1',
      [message.providerSid],
    );
    expect(phoneHash).toBe(message.phoneHash);
    for (const other of others) expect(await stored(other.providerSid)).toBeDefined();

    const bare = sent({ segments: undefined, cost: undefined, purpose: undefined });
    await repository.track({ ...bare, verificationId: undefined });
    expect(await stored(bare.providerSid)).toMatchObject({ segments: 1, estimated_cost: null });
  });

  it('moves a status only forward: duplicates and late callbacks change nothing', async () => {
    const message = sent();
    await repository.track(message);
    const sid = message.providerSid;

    expect(await repository.advance(change(sid, 'sent', later(1)))).toEqual({
      phone_hash: message.phoneHash,
      country_code: 'ET',
      purpose: 'login',
      verification_id: message.verificationId,
    });
    const delivered = await Promise.all(
      Array.from({ length: 4 }, () => repository.advance(change(sid, 'delivered', later(2)))),
    );
    expect(delivered.filter(Boolean)).toHaveLength(1);
    expect(await repository.advance(change(sid, 'sent', later(3)))).toBeUndefined();
    expect(await repository.advance(change(sid, 'undelivered', later(4), '30003'))).toBeUndefined();
    expect(await stored(sid)).toMatchObject({
      status: 'delivered',
      status_rank: 3,
      error_code: null,
      updated_at: later(2),
    });
    expect(await repository.advance(change(newSid(), 'delivered', later(5)))).toBeUndefined();
  });

  it("keeps a message's error code when a later status carries none", async () => {
    const message = sent();
    await repository.track(message);
    await repository.advance(change(message.providerSid, 'undelivered', later(1), '30005'));
    expect(await repository.advance(change(message.providerSid, 'read', later(2)))).toBeDefined();
    expect(await stored(message.providerSid)).toMatchObject({
      status: 'read',
      error_code: '30005',
    });
  });

  it('records a price once, whichever poll gets there first', async () => {
    const message = sent();
    await repository.track(message);
    const prices = await Promise.all([
      repository.recordPrice(message.providerSid, 0.0421, 'USD'),
      repository.recordPrice(message.providerSid, 0.0999, 'EUR'),
      repository.recordPrice(message.providerSid, 0.0421, 'USD'),
    ]);
    const recorded = prices.filter((price) => price !== undefined);
    expect(recorded).toEqual([
      { estimated_cost: '0.100000', country_code: 'ET', purpose: 'login', created_at: NOW },
    ]);
    const row = await stored(message.providerSid);
    expect([
      ['0.042100', 'USD'],
      ['0.099900', 'EUR'],
    ]).toContainEqual([row.price, row.price_unit]);
    expect(await repository.recordPrice(newSid(), 0.01, 'USD')).toBeUndefined();
  });

  it('finds the finished messages still without a price, longest finished first, within the window', async () => {
    const base = new Date('2026-07-01T12:00:00.000Z');
    const at = (seconds: number) => new Date(base.getTime() + seconds * 1000);
    const track = async (trackedAt: Date, status?: string, finishedAt?: Date) => {
      const message = sent({ trackedAt });
      await repository.track(message);
      if (status) await repository.advance(change(message.providerSid, status, finishedAt!));
      return message.providerSid;
    };
    const early = await track(at(0), 'delivered', at(20));
    const earlier = await track(at(0), 'undelivered', at(10));
    const failed = await track(at(0), 'failed', at(30));
    const tooRecent = await track(at(0), 'delivered', at(100));
    // Never due: not finished, still queued, sent before the window, priced already.
    await track(at(0), 'sent', at(10));
    await track(at(0));
    await track(at(-2 * 86_400), 'delivered', at(10));
    await repository.recordPrice(await track(at(0), 'delivered', at(10)), 0.01, 'USD');

    const finishedBy = at(60);
    const sentAfter = at(-86_400);
    expect(await repository.awaitingPrice(finishedBy, sentAfter, 100)).toEqual([
      earlier,
      early,
      failed,
    ]);
    expect(await repository.awaitingPrice(finishedBy, sentAfter, 2)).toEqual([earlier, early]);
    // Later, the one that finished since is due too; the others never are.
    expect(await repository.awaitingPrice(at(1_000), sentAfter, 100)).toEqual([
      earlier,
      early,
      failed,
      tooRecent,
    ]);
  });
});
