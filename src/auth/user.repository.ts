import { Injectable } from '@nestjs/common';
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

  /** Whether a number is on an account, and verified there. */
  async phoneStatus(phoneNumberHash: string): Promise<'none' | 'unverified' | 'verified'> {
    const [row] = await this.sql.rows<{ verified: boolean }>(
      `SELECT phone_verified_at IS NOT NULL AS verified FROM users WHERE phone_number_hash = $1`,
      [phoneNumberHash],
    );
    if (!row) return 'none';
    return row.verified ? 'verified' : 'unverified';
  }

  async tokenVersionOf(id: string): Promise<number | undefined> {
    const [row] = await this.sql.rows<{ token_version: number }>(
      `SELECT token_version FROM users WHERE id = $1`,
      [id],
    );
    return row?.token_version;
  }

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
