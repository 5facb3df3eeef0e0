import { randomBytes, randomUUID } from 'node:crypto';
import { Purpose } from '../../src/common/purpose';
import { VerificationRepository } from '../../src/sms/verification.repository';
import { NewVerification } from '../../src/sms/verification.rows';
import { RepositoryDatabase, openRepositoryDatabase } from '../support/repository-database';

/**
 * The SQL of every statement on sms_verifications, against a migrated PostgreSQL: what each
 * statement guarantees when requests race, which the services above it rely on.
 */
describe('VerificationRepository', () => {
  let database: RepositoryDatabase;
  let repository: VerificationRepository;
  const NOW = new Date('2026-06-01T12:00:00.000Z');
  const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

  beforeAll(async () => {
    database = await openRepositoryDatabase();
    repository = new VerificationRepository(database.sql);
  });

  afterAll(() => database.close());

  const newPhone = () => randomBytes(32).toString('hex');

  function pending(overrides: Partial<NewVerification> = {}): NewVerification {
    return {
      id: randomUUID(),
      phoneHash: newPhone(),
      purpose: 'login',
      sid: `VE${randomBytes(16).toString('hex')}`,
      channel: 'twilio-messaging',
      codeHash: 'code-hash',
      locale: 'en',
      country: 'ET',
      maxAttempts: 3,
      now: NOW,
      expiresAt: later(300),
      prefixHash: 'prefix-hash',
      clientNetworkHash: null,
      ...overrides,
    };
  }

  async function statusOf(id: string): Promise<string> {
    const [row] = await database.sql.rows<{ status: string }>(
      'SELECT status FROM sms_verifications WHERE id = $1',
      [id],
    );
    return row.status;
  }

  it('keeps one pending verification per phone and purpose: a second insert gets nothing', async () => {
    const first = pending();
    const row = await repository.insertPending(first);
    expect(row).toMatchObject({ id: first.id, status: 'pending', attempts: 0, send_count: 1 });

    const racing = await Promise.all([
      repository.insertPending(pending({ phoneHash: first.phoneHash })),
      repository.insertPending(pending({ phoneHash: first.phoneHash })),
    ]);
    expect(racing).toEqual([undefined, undefined]);
    const otherPurpose = await repository.insertPending(
      pending({ phoneHash: first.phoneHash, purpose: 'registration' }),
    );
    expect(otherPurpose?.purpose).toBe('registration');
  });

  it('counts no more attempts than the verification allows, however many checks race', async () => {
    const verification = pending({ maxAttempts: 3 });
    await repository.insertPending(verification);
    const attempts = await Promise.all(
      Array.from({ length: 12 }, () =>
        repository.countAttempt({ phoneHash: verification.phoneHash, purpose: 'login', now: NOW }),
      ),
    );
    const counted = attempts.filter((row) => row !== undefined);
    expect(counted.map((row) => row.attempts).sort()).toEqual([1, 2, 3]);

    await repository.giveBackAttempt(verification.id);
    const again = await repository.countAttempt({
      phoneHash: verification.phoneHash,
      purpose: 'login',
      now: NOW,
    });
    expect(again?.attempts).toBe(3);
  });

  it('counts no attempt on an expired verification or on another purpose', async () => {
    const verification = pending({ expiresAt: later(60) });
    await repository.insertPending(verification);
    const phoneHash = verification.phoneHash;
    expect(
      await repository.countAttempt({ phoneHash, purpose: 'login', now: later(61) }),
    ).toBeUndefined();
    expect(
      await repository.countAttempt({ phoneHash, purpose: 'registration', now: NOW }),
    ).toBeUndefined();
    expect(await repository.findPending(phoneHash, 'login', later(61))).toBeUndefined();
    expect((await repository.findPending(phoneHash, 'login'))?.attempts).toBe(0);
  });

  it('approves a verification once when right codes race, and its token is spent once', async () => {
    const verification = pending();
    await repository.insertPending(verification);
    const approvals = await Promise.all(
      ['token-a', 'token-b', 'token-c'].map((tokenHash) =>
        repository.approve({
          id: verification.id,
          now: NOW,
          tokenHash,
          tokenExpiresAt: later(600),
        }),
      ),
    );
    const approved = approvals.filter((row) => row !== undefined);
    expect(approved).toHaveLength(1);
    expect(approved[0].status).toBe('verified');
    const [{ token_hash: tokenHash }] = await database.sql.rows<{ token_hash: string }>(
      'SELECT token_hash FROM sms_verifications WHERE id = $1',
      [verification.id],
    );

    const { phoneHash } = verification;
    expect(await repository.consumeToken(tokenHash, phoneHash, 'registration', NOW)).toBe(false);
    expect(await repository.consumeToken(tokenHash, newPhone(), 'login', NOW)).toBe(false);
    expect(await repository.consumeToken(tokenHash, phoneHash, 'login', later(601))).toBe(false);
    const spends = await Promise.all(
      Array.from({ length: 5 }, () => repository.consumeToken(tokenHash, phoneHash, 'login', NOW)),
    );
    expect(spends.filter(Boolean)).toHaveLength(1);
    expect(await repository.verifiedSince([phoneHash, newPhone()], later(-1))).toEqual(
      new Set([phoneHash]),
    );
    expect(await repository.verifiedSince([phoneHash], later(1))).toEqual(new Set());
  });

  it('reserves resends up to the limit and gives a failed one back, never the first send', async () => {
    const verification = pending();
    await repository.insertPending(verification);
    const { phoneHash } = verification;
    const reservations = await Promise.all(
      Array.from({ length: 5 }, () => repository.reserveResend(phoneHash, 'login', 3, later(1))),
    );
    expect(reservations.filter((row) => row !== undefined)).toHaveLength(2);

    await repository.giveBackSend(verification.id);
    expect((await repository.reserveResend(phoneHash, 'login', 3, later(2)))?.send_count).toBe(3);
    expect(await repository.reserveResend(phoneHash, 'login', 3, later(301))).toBeUndefined();

    const single = pending();
    await repository.insertPending(single);
    await repository.giveBackSend(single.id);
    expect((await repository.findPending(single.phoneHash, 'login'))?.send_count).toBe(1);
  });

  it('records a resend: a silent verification that starts delivering starts over', async () => {
    const verification = pending({ channel: 'suppressed', sid: 'VEsilent' });
    await repository.insertPending(verification);
    await repository.countAttempt({
      phoneHash: verification.phoneHash,
      purpose: 'login',
      now: NOW,
    });
    const updated = await repository.recordResend({
      id: verification.id,
      codeHash: 'new-code-hash',
      messageSid: 'SM1',
      verificationSid: null,
      channel: 'twilio-messaging',
      startsDelivering: true,
      expiresAt: later(900),
    });
    expect(updated).toMatchObject({
      channel: 'twilio-messaging',
      code_hash: 'new-code-hash',
      attempts: 0,
      twilio_sid: 'VEsilent',
      expires_at: later(900),
    });
  });

  it('notes provider sids without replacing a sid the client already has', async () => {
    const ours = pending();
    const verify = pending({ sid: null, channel: 'twilio-verify', codeHash: null });
    await Promise.all([repository.insertPending(ours), repository.insertPending(verify)]);
    await Promise.all([
      repository.recordSids({ id: ours.id, verificationSid: null, messageSid: 'SMours' }),
      repository.recordSids({ id: verify.id, verificationSid: 'VEtwilio', messageSid: null }),
    ]);
    expect((await repository.findPending(ours.phoneHash, 'login'))?.twilio_sid).toBe(ours.sid);
    const recorded = await repository.findPending(verify.phoneHash, 'login');
    expect(recorded).toMatchObject({ twilio_sid: 'VEtwilio', provider_sid: 'VEtwilio' });
  });

  it('expires what ran out, each once, whichever statement gets there first', async () => {
    const runOut = pending({ expiresAt: later(10) });
    const live = pending({ expiresAt: later(1_000) });
    await Promise.all([repository.insertPending(runOut), repository.insertPending(live)]);
    expect(await repository.expireStale(live.phoneHash, 'login', later(20))).toEqual([]);

    const [lazy, swept] = await Promise.all([
      repository.expireStale(runOut.phoneHash, 'login', later(20)),
      repository.expireDue(later(20), 1_000),
    ]);
    const ended = [...lazy, ...swept].filter((row) => row.id === runOut.id);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ channel: 'twilio-messaging', expires_at: later(10) });
    expect(swept.some((row) => row.id === live.id)).toBe(false);
    expect(await statusOf(runOut.id)).toBe('expired');
  });

  it('sweeps the oldest expiries first, a batch at a time', async () => {
    const first = pending({ expiresAt: later(-30), now: later(-40) });
    const second = pending({ expiresAt: later(-20), now: later(-40) });
    await Promise.all([repository.insertPending(second), repository.insertPending(first)]);
    await repository.expireDue(later(-25), 1_000); // whatever earlier tests left
    const batch = await repository.expireDue(later(-19), 1);
    expect(batch.map((row) => row.id)).toEqual([second.id]);
  });

  it("ends other purposes' Twilio Verify verifications that share a sid, and nothing else", async () => {
    const phoneHash = newPhone();
    const insert = (purpose: Purpose, overrides: Partial<NewVerification>) =>
      repository.insertPending(pending({ phoneHash, purpose, ...overrides }));
    const shared = { channel: 'twilio-verify' as const, sid: null, codeHash: null };
    const login = await insert('login', shared);
    const reset = await insert('password_reset', shared);
    const twoFactor = await insert('two_factor', shared);
    const registration = await insert('registration', { channel: 'twilio-messaging' });
    await repository.recordSids({ id: reset!.id, verificationSid: 'VEshared', messageSid: null });
    await repository.recordSids({
      id: twoFactor!.id,
      verificationSid: 'VEother',
      messageSid: null,
    });

    const ended = await repository.endOtherPurposesSharing(phoneHash, 'login', 'VEshared', NOW);
    expect(ended.map((row) => row.purpose).sort()).toEqual(['password_reset']);
    expect(await statusOf(login!.id)).toBe('pending');
    expect(await statusOf(twoFactor!.id)).toBe('pending');
    expect(await statusOf(registration!.id)).toBe('pending');

    const unrecorded = await insert('password_reset', shared);
    const endedAgain = await repository.endOtherPurposesSharing(
      phoneHash,
      'two_factor',
      'VEx',
      NOW,
    );
    expect(endedAgain.map((row) => row.id).sort()).toEqual([login!.id, unrecorded!.id].sort());
  });

  it('fails a pending verification once, and not one that was approved', async () => {
    const verification = pending();
    await repository.insertPending(verification);
    await repository.approve({
      id: verification.id,
      now: NOW,
      tokenHash: 't',
      tokenExpiresAt: NOW,
    });
    await repository.fail(verification.id, NOW);
    expect(await statusOf(verification.id)).toBe('verified');

    const other = pending();
    await repository.insertPending(other);
    await repository.fail(other.id, NOW);
    expect(await statusOf(other.id)).toBe('failed');
    expect(await repository.findPending(other.phoneHash, 'login')).toBeUndefined();
  });
});
