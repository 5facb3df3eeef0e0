import { Injectable } from '@nestjs/common';
import { BatchedLookup } from '../database/batched-lookup';
import { Sql } from '../database/sql';

/** The columns of `users` the auth flows read, in the shape they read them. */
export interface UserRecord {
  id: string;
  phoneNumber: string;
  passwordHash: string;
  phoneVerifiedAt: Date | null;
  twoFactorEnabled: boolean;
  tokenVersion: number;
}

export interface NewUser {
  phoneNumber: string;
  phoneNumberHash: string;
  passwordHash: string;
  now: Date;
}

const COLUMNS = `id, phone_number AS "phoneNumber", password_hash AS "passwordHash",
  phone_verified_at AS "phoneVerifiedAt", two_factor_enabled AS "twoFactorEnabled",
  token_version AS "tokenVersion"`;

export type PhoneStatus = 'none' | 'unverified' | 'verified';

/** PostgreSQL unique_violation. */
const UNIQUE_VIOLATION = '23505';

/**
 * Accounts, one atomic statement per change. Lookups by phone go through the HMAC column, like
 * every other table's.
 */
@Injectable()
export class UserRepository {
  constructor(private readonly sql: Sql) {}

  async findById(id: string): Promise<UserRecord | undefined> {
    const [user] = await this.sql.rows<UserRecord>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [
      id,
    ]);
    return user;
  }

  async findByPhoneHash(phoneNumberHash: string): Promise<UserRecord | undefined> {
    const [user] = await this.sql.rows<UserRecord>(
      `SELECT ${COLUMNS} FROM users WHERE phone_number_hash = $1`,
      [phoneNumberHash],
    );
    return user;
  }

  /**
   * Whether a number is on an account, and verified there. Every send asks (the account delivery
   * filter), so concurrent sends share one query.
   */
  phoneStatus(phoneNumberHash: string): Promise<PhoneStatus> {
    return this.phoneStatuses.get(phoneNumberHash);
  }

  private readonly phoneStatuses = new BatchedLookup<string, PhoneStatus>(async (hashes) => {
    const rows = await this.sql.rows<{ hash: string; verified: boolean }>(
      `SELECT phone_number_hash AS hash, phone_verified_at IS NOT NULL AS verified
         FROM users WHERE phone_number_hash = ANY($1)`,
      [hashes],
    );
    return new Map(rows.map((row) => [row.hash, row.verified ? 'verified' : 'unverified']));
  }, 'none');

  /** The new account with a verified phone, or undefined when the number already has one. */
  async create(user: NewUser): Promise<UserRecord | undefined> {
    const [created] = await this.sql.rows<UserRecord>(
      `INSERT INTO users
         (phone_number, phone_number_hash, password_hash, phone_verified_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $4, $4)
       ON CONFLICT DO NOTHING
       RETURNING ${COLUMNS}`,
      [user.phoneNumber, user.phoneNumberHash, user.passwordHash, user.now],
    );
    return created;
  }

  /** New password and a new token version: every access token issued before is dead. */
  async resetPassword(
    id: string,
    passwordHash: string,
    now: Date,
  ): Promise<UserRecord | undefined> {
    const [user] = await this.sql.rows<UserRecord>(
      `UPDATE users SET password_hash = $2, token_version = token_version + 1, updated_at = $3
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, passwordHash, now],
    );
    return user;
  }

  async setTwoFactor(id: string, enabled: boolean, now: Date): Promise<UserRecord | undefined> {
    const [user] = await this.sql.rows<UserRecord>(
      `UPDATE users SET two_factor_enabled = $2, updated_at = $3
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, enabled, now],
    );
    return user;
  }

  /**
   * Moves the account to a new, just verified number and ends its other sessions. Only applies
   * while the session that asked is still current (`tokenVersion`); 'taken' when another
   * account has the number.
   */
  async changePhone(
    id: string,
    tokenVersion: number,
    phone: { phoneNumber: string; phoneNumberHash: string },
    now: Date,
  ): Promise<UserRecord | 'taken' | undefined> {
    try {
      const [user] = await this.sql.rows<UserRecord>(
        `UPDATE users
            SET phone_number = $3, phone_number_hash = $4, phone_verified_at = $5,
                token_version = token_version + 1, updated_at = $5
          WHERE id = $1 AND token_version = $2
          RETURNING ${COLUMNS}`,
        [id, tokenVersion, phone.phoneNumber, phone.phoneNumberHash, now],
      );
      return user;
    } catch (error) {
      if ((error as { code?: unknown }).code === UNIQUE_VIOLATION) return 'taken';
      throw error;
    }
  }
}
