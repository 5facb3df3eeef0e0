import { createHmac, timingSafeEqual } from 'node:crypto';
import { clientAddressGroup } from './client-address';

/**
 * What a keyed hash is of. The domain is mixed into every HMAC so a hash of a phone number can
 * never be replayed as the hash of a code or a token. Client addresses are not among them: they
 * are hashed only through hashClient, which groups them first.
 */
export type HashDomain =
  | 'phone'
  | 'phone-prefix'
  | 'code'
  | 'verification-token'
  | 'refresh-token'
  | 'operator-key'
  | 'verification-sid';

/** The domains of client addresses, reachable only through hashClient and hashClientNetwork. */
type ClientDomain = 'ip' | 'ip-network';

/** Domains whose values repeat across requests and are no secret from this process. */
const REUSED_DOMAINS: ReadonlySet<HashDomain | ClientDomain> = new Set([
  'phone',
  'phone-prefix',
  'ip',
  'ip-network',
]);
const RECENT_HASHES = 5_000;

/**
 * A client network for statistics that must tell one actor from many (pumping holds): an IPv4
 * /24, the smallest block routed on the Internet, and an IPv6 /48, a site's usual assignment.
 */
const NETWORK_IPV4_PREFIX = 24;
const NETWORK_IPV6_PREFIX = 48;

const asIs = (value: string): string => value;

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

  private readonly clientOf: (address: string) => string;
  private readonly networkOf: (address: string) => string;

  /**
   * `clientIpv6PrefixLength`: the IPv6 bits that make one client (CLIENT_IPV6_PREFIX); see
   * clientAddressGroup.
   */
  constructor(
    private readonly secret: string,
    clientIpv6PrefixLength = 64,
  ) {
    const networkIpv6Prefix = Math.min(NETWORK_IPV6_PREFIX, clientIpv6PrefixLength);
    this.clientOf = (address) => clientAddressGroup(address, clientIpv6PrefixLength);
    this.networkOf = (address) =>
      clientAddressGroup(address, networkIpv6Prefix, NETWORK_IPV4_PREFIX);
  }

  hash(domain: HashDomain, value: string): string {
    return this.keyed(domain, value, asIs);
  }

  /**
   * The key of the client behind an address: every per-client limit and analytics row uses it, so
   * all the addresses of one IPv6 /64 (CLIENT_IPV6_PREFIX) and an IPv4 address in its mapped IPv6
   * spelling are one client.
   */
  hashClient(address: string): string {
    return this.keyed('ip', address, this.clientOf);
  }

  /**
   * The key of the network a client address is in (IPv4 /24, IPv6 /48, or the client's own group
   * when CLIENT_IPV6_PREFIX is shorter), for counting how many networks some traffic comes from.
   */
  hashClientNetwork(address: string): string {
    return this.keyed('ip-network', address, this.networkOf);
  }

  /** The HMAC of `canonical(value)`, remembered by the raw value for the reused domains. */
  private keyed(
    domain: HashDomain | ClientDomain,
    value: string,
    canonical: (raw: string) => string,
  ): string {
    if (!REUSED_DOMAINS.has(domain)) return this.hmac(domain, canonical(value));
    const key = `${domain}\u0000${value}`;
    const known = this.recent.get(key) ?? this.older.get(key);
    if (known !== undefined) return known;
    const hash = this.hmac(domain, canonical(value));
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

  private hmac(domain: HashDomain | ClientDomain, value: string): string {
    return createHmac('sha256', this.secret).update(`${domain}\u0000${value}`).digest('hex');
  }

  /** Whether `value` hashes to `expectedHash`, compared in constant time. */
  matches(domain: HashDomain, value: string, expectedHash: string): boolean {
    return this.equals(this.hash(domain, value), expectedHash);
  }
}
