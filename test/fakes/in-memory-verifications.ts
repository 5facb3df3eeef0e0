import { randomUUID } from 'node:crypto';
import { Purpose } from '../../src/common/purpose';
import { VerificationRepository } from '../../src/sms/verification.repository';
import {
  Approval,
  AttemptToCount,
  NewVerification,
  ProviderSids,
  ResendOutcome,
  VerificationRow,
} from '../../src/sms/verification.rows';

interface StoredVerification extends VerificationRow {
  phoneHash: string;
  tokenHash?: string;
  tokenExpiresAt?: Date;
  tokenConsumed?: boolean;
}

/**
 * VerificationRepository in memory, for unit specs of the services above it: the same answers
 * for the statements they use, one at a time (the SQL's behaviour under races is the repository
 * tier's, test/repositories/).
 */
export class InMemoryVerifications {
  readonly rows: StoredVerification[] = [];

  /** A pending verification, as a first send leaves it. */
  add(phoneHash: string, purpose: Purpose, overrides: Partial<StoredVerification> = {}) {
    const now = new Date('2026-06-01T12:00:00Z');
    const row: StoredVerification = {
      id: randomUUID(),
      phoneHash,
      purpose,
      twilio_sid: 'VE0123456789abcdef0123456789abcdef',
      provider_sid: null,
      status: 'pending',
      channel: 'twilio-messaging',
      code_hash: null,
      locale: 'en',
      attempts: 0,
      max_attempts: 3,
      send_count: 1,
      expires_at: new Date(now.getTime() + 300_000),
      created_at: now,
      updated_at: now,
      ...overrides,
    };
    this.rows.push(row);
    return row;
  }

  async insertPending(verification: NewVerification): Promise<VerificationRow | undefined> {
    if (this.live(verification.phoneHash, verification.purpose)) return undefined;
    return this.add(verification.phoneHash, verification.purpose, {
      id: verification.id,
      twilio_sid: verification.sid,
      channel: verification.channel,
      code_hash: verification.codeHash,
      locale: verification.locale,
      max_attempts: verification.maxAttempts,
      expires_at: verification.expiresAt,
      created_at: verification.now,
      updated_at: verification.now,
    });
  }

  async countAttempt({ phoneHash, purpose, now }: AttemptToCount) {
    const row = this.live(phoneHash, purpose);
    if (!row || row.expires_at <= now || row.attempts >= row.max_attempts) return undefined;
    row.attempts += 1;
    return { ...row };
  }

  async giveBackAttempt(id: string): Promise<void> {
    const row = this.byId(id);
    if (row.attempts > 0) row.attempts -= 1;
  }

  async approve({ id, tokenHash, tokenExpiresAt }: Approval) {
    const row = this.byId(id);
    if (row.status !== 'pending') return undefined;
    Object.assign(row, { status: 'verified', tokenHash, tokenExpiresAt });
    return { ...row };
  }

  async fail(id: string): Promise<void> {
    const row = this.byId(id);
    if (row.status === 'pending') row.status = 'failed';
  }

  async findPending(phoneHash: string, purpose: Purpose, liveAt?: Date) {
    const row = this.live(phoneHash, purpose);
    return row && (!liveAt || row.expires_at > liveAt) ? { ...row } : undefined;
  }

  async consumeToken(tokenHash: string, phoneHash: string, purpose: Purpose, now: Date) {
    const row = this.rows.find(
      (candidate) =>
        candidate.tokenHash === tokenHash &&
        candidate.phoneHash === phoneHash &&
        candidate.purpose === purpose &&
        !candidate.tokenConsumed &&
        candidate.tokenExpiresAt! > now,
    );
    if (row) row.tokenConsumed = true;
    return row !== undefined;
  }

  async expireStale(phoneHash: string, purpose: Purpose, now: Date) {
    const row = this.live(phoneHash, purpose);
    if (!row || row.expires_at > now) return [];
    row.status = 'expired';
    return [{ ...row, phone_number_hash: phoneHash, country_code: null }];
  }

  async reserveResend(phoneHash: string, purpose: Purpose, maxSends: number, now: Date) {
    const row = this.live(phoneHash, purpose);
    if (!row || row.expires_at <= now || row.send_count >= maxSends) return undefined;
    row.send_count += 1;
    return { ...row };
  }

  async recordResend(outcome: ResendOutcome) {
    const row = this.byId(outcome.id);
    if (outcome.codeHash) row.code_hash = outcome.codeHash;
    row.channel = outcome.channel;
    if (outcome.startsDelivering)
      Object.assign(row, { attempts: 0, expires_at: outcome.expiresAt });
    return { ...row };
  }

  async giveBackSend(id: string): Promise<void> {
    const row = this.byId(id);
    if (row.send_count > 1) row.send_count -= 1;
  }

  async recordSids(sids: ProviderSids): Promise<void> {
    const row = this.byId(sids.id);
    row.twilio_sid ??= sids.verificationSid;
    row.provider_sid = sids.verificationSid;
  }

  async endOtherPurposesSharing() {
    return [];
  }

  asRepository(): VerificationRepository {
    return this as unknown as VerificationRepository;
  }

  private live(phoneHash: string, purpose: Purpose): StoredVerification | undefined {
    return this.rows.find(
      (row) => row.phoneHash === phoneHash && row.purpose === purpose && row.status === 'pending',
    );
  }

  private byId(id: string): StoredVerification {
    const row = this.rows.find((candidate) => candidate.id === id);
    if (!row) throw new Error(`no verification ${id}`);
    return row;
  }
}
