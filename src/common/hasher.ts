import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * What a keyed hash is of. The domain is mixed into every HMAC so a hash of a phone number can
 * never be replayed as the hash of a code or a token.
 */
export type HashDomain =
  | 'phone'
  | 'phone-prefix'
  | 'ip'
  | 'code'
  | 'verification-token'
  | 'refresh-token'
  | 'operator-key';

/**
 * HMAC-SHA256 with the server secret: a plain SHA-256 of a phone number is reversible by
 * enumerating the numbering plan, an HMAC is not without the key.
 */
export class Hasher {
  constructor(private readonly secret: string) {}

  hash(domain: HashDomain, value: string): string {
    return createHmac('sha256', this.secret).update(`${domain}\u0000${value}`).digest('hex');
  }

  /** Constant-time comparison of two hashes (or any two strings). */
  equals(left: string, right: string): boolean {
    const a = Buffer.from(left);
    const b = Buffer.from(right);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Whether `value` hashes to `expectedHash`, compared in constant time. */
  matches(domain: HashDomain, value: string, expectedHash: string): boolean {
    return this.equals(this.hash(domain, value), expectedHash);
  }
}
