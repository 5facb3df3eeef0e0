import { Injectable } from '@nestjs/common';
import * as argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import { normalizePassword } from './password-policy';

/**
 * argon2id with the OWASP Password Storage Cheat Sheet's baseline (19 MiB, 2 passes, 1 lane).
 * The parameters travel inside each hash, so raising them later still verifies old hashes.
 */
const ARGON2_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/** Password hashing behind a DI token, so unit tests can swap it for something fast. */
@Injectable()
export class PasswordHasher {
  /** Verified when the phone has no account, so that case takes as long as a wrong password. */
  private readonly dummyHash: Promise<string>;

  constructor() {
    this.dummyHash = argon2.hash(randomBytes(32).toString('hex'), ARGON2_OPTIONS);
    // Awaited on first use; without a handler here, a failure would crash the process first.
    this.dummyHash.catch(() => undefined);
  }

  hash(password: string): Promise<string> {
    return argon2.hash(normalizePassword(password), ARGON2_OPTIONS);
  }

  /** False for a wrong password and for a hash that cannot be read. */
  async verify(hash: string | undefined, password: string): Promise<boolean> {
    const digest = hash ?? (await this.dummyHash);
    try {
      const matches = await argon2.verify(digest, normalizePassword(password));
      return matches && hash !== undefined;
    } catch {
      return false;
    }
  }
}
