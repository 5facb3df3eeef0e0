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
  | 'operator-key'
  | 'verification-sid';

/** Domains whose values repeat across requests and are no secret from this process. */
const REUSED_DOMAINS: ReadonlySet<HashDomain> = new Set(['phone', 'phone-prefix', 'ip']);
const RECENT_HASHES = 5_000;

/**
 * HMAC-SHA256 with the server secret: a plain SHA-256 of a phone number is reversible by
 * enumerating the numbering plan, an HMAC is not without the key.
 */
export class Hasher {
  /**
   * Recent hashes of values that arrive over and over (a number under attack, a client's IP):
   * one request hashes its number and IP up to three times, and a refused send is cheap enough
   * that the HMACs were an eighth of its CPU. Two generations of at most RECENT_HASHES each, the
   * older dropped whole when the newer fills. Never codes or tokens: those are secrets.
   */
  private recent = new Map<string, string>();
  private older = new Map<string, string>();

  constructor(private readonly secret: string) {}

  hash(domain: HashDomain, value: string): string {
    if (!REUSED_DOMAINS.has(domain)) return this.hmac(domain, value);
    const key = `${domain}\u0000${value}`;
    const known = this.recent.get(key) ?? this.older.get(key);
    if (known !== undefined) return known;
    const hash = this.hmac(domain, value);
    if (this.recent.size >= RECENT_HASHES) {
      this.older = this.recent;
      this.recent = new Map();
    }
    this.recent.set(key, hash);
    return hash;
  }

  /** Constant-time comparison of two hashes (or any two strings). */
  equals(left: string, right: string): boolean {
    const a = Buffer.from(left);
    const b = Buffer.from(right);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private hmac(domain: HashDomain, value: string): string {
    return createHmac('sha256', this.secret).update(`${domain}\u0000${value}`).digest('hex');
  }

  /** Whether `value` hashes to `expectedHash`, compared in constant time. */
  matches(domain: HashDomain, value: string, expectedHash: string): boolean {
    return this.equals(this.hash(domain, value), expectedHash);
  }
}
