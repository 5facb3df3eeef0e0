import { isIP } from 'node:net';

/** Where the IPv4 address sits in an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2). */
const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0xffff];

/**
 * The client an address belongs to, as every per-client key (rate limits, the HTTP throttle,
 * analytics) counts it: an IPv6 address grouped by its first `ipv6PrefixLength` bits, written as
 * the canonical network (`2001:db8:0:1::/64`), and an IPv4 address as itself, or grouped by
 * `ipv4PrefixLength` bits when that is below 32 (`198.51.100.0/24`).
 *
 * Why: an ISP hands each IPv6 subscriber at least a /64 (often a /56 or /48, RFC 6177), so one
 * client can take a fresh address for every request; counted per address, a per-IP limit would
 * never stop anyone. An IPv4 client seen through a dual-stack socket arrives as `::ffff:a.b.c.d`
 * and is the same client as `a.b.c.d`. Zone ids (`fe80::1%eth0`) name an interface of this host,
 * not a different client, and are dropped.
 *
 * A port some proxies append (`198.51.100.7:4444`, `[2001:db8::1]:443`) is not part of the client:
 * kept, every connection would be a client of its own. Anything else that is not an IP address
 * (a proxy forwarding whatever the client wrote) is one client, UNPARSABLE_CLIENT, however it is
 * spelled, so made-up values share one budget instead of getting a fresh one each.
 * Pure and free of the framework: the HTTP layer can use it before Nest is up.
 */
export function clientAddressGroup(
  address: string,
  ipv6PrefixLength: number,
  ipv4PrefixLength = 32,
): string {
  const trimmed = withoutPort(address.trim());
  if (isGroup(trimmed)) return trimmed;
  if (isIP(trimmed) === 4) return ipv4Group(trimmed, ipv4PrefixLength);
  const zone = trimmed.indexOf('%');
  const bare = zone === -1 ? trimmed : trimmed.slice(0, zone);
  if (isIP(bare) !== 6) return UNPARSABLE_CLIENT;
  const hextets = ipv6Hextets(bare);
  if (MAPPED_PREFIX.every((value, index) => hextets[index] === value)) {
    const [high, low] = [hextets[6], hextets[7]];
    const ipv4 = [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
    return ipv4Group(ipv4, ipv4PrefixLength);
  }
  const prefix = clampPrefix(ipv6PrefixLength, 128);
  return `${formatIpv6(mask(hextets, prefix, 16))}/${prefix}`;
}

/** The one client every value that is not an IP address counts as. */
export const UNPARSABLE_CLIENT = 'unparsable';

const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
const BRACKETED_IPV6 = /^\[([^\]]+)\](?::\d{1,5})?$/;

/** A group this function already made (`2001:db8::/64`, `198.51.100.0/24`): it is its own group. */
function isGroup(value: string): boolean {
  const slash = value.lastIndexOf('/');
  return slash > 0 && /^\d{1,3}$/.test(value.slice(slash + 1)) && isIP(value.slice(0, slash)) !== 0;
}

function withoutPort(address: string): string {
  return IPV4_WITH_PORT.exec(address)?.[1] ?? BRACKETED_IPV6.exec(address)?.[1] ?? address;
}

function ipv4Group(address: string, prefixLength: number): string {
  const prefix = clampPrefix(prefixLength, 32);
  const octets = address.split('.').map(Number);
  if (prefix === 32) return octets.join('.');
  return `${mask(octets, prefix, 8).join('.')}/${prefix}`;
}

function clampPrefix(prefixLength: number, bits: number): number {
  if (!Number.isInteger(prefixLength)) return bits;
  return Math.min(Math.max(prefixLength, 0), bits);
}

/** Keeps the first `prefix` bits of a big-endian sequence of `width`-bit groups. */
function mask(groups: number[], prefix: number, width: number): number[] {
  return groups.map((group, index) => {
    const kept = Math.min(Math.max(prefix - index * width, 0), width);
    const groupMask = kept === 0 ? 0 : ((1 << width) - 1) ^ ((1 << (width - kept)) - 1);
    return group & groupMask;
  });
}

/** The eight 16-bit groups of an address `net.isIP` already accepted as IPv6. */
function ipv6Hextets(address: string): number[] {
  let text = address.toLowerCase();
  // A trailing dotted quad (`::ffff:192.0.2.1`, `64:ff9b::192.0.2.1`) is the last two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const missing = rest === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((group) =>
    parseInt(group, 16),
  );
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
function formatIpv6(hextets: number[]): string {
  let runStart = -1;
  let runLength = 0;
  for (let start = 0; start < hextets.length; start += 1) {
    let length = 0;
    while (start + length < hextets.length && hextets[start + length] === 0) length += 1;
    if (length > runLength) [runStart, runLength] = [start, length];
  }
  const text = hextets.map((group) => group.toString(16));
  if (runLength < 2) return text.join(':');
  return `${text.slice(0, runStart).join(':')}::${text.slice(runStart + runLength).join(':')}`;
}
