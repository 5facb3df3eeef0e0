import { createHmac } from 'node:crypto';
import { Hasher } from './hasher';

const SECRET = 'a-test-secret-of-enough-length-000';
const hmac = (input: string) => createHmac('sha256', SECRET).update(input).digest('hex');

describe('Hasher', () => {
  it('is an HMAC-SHA256 of the domain and the value, so domains never collide', () => {
    const hasher = new Hasher(SECRET);
    expect(hasher.hash('phone', '+251911234567')).toBe(hmac('phone\u0000+251911234567'));
    expect(hasher.hash('code', '123456')).toBe(hmac('code\u0000123456'));
    expect(hasher.hashClient('10.0.0.1')).not.toBe(hasher.hash('phone-prefix', '10.0.0.1'));
    expect(hasher.hashClient('10.0.0.1')).toBe(hmac('ip\u000010.0.0.1'));
  });

  it('answers a repeated value the same, across however many other values came between', () => {
    const hasher = new Hasher(SECRET);
    const first = hasher.hashClient('192.0.2.1');
    for (let index = 0; index < 12_000; index += 1) hasher.hash('phone', `+2519${index}`);
    expect(hasher.hashClient('192.0.2.1')).toBe(first);
    expect(first).toBe(hmac('ip\u0000192.0.2.1'));
  });

  it('hashes a client by its address group: one IPv6 /64, IPv4 in any spelling', () => {
    const hasher = new Hasher(SECRET);
    expect(hasher.hashClient('2001:db8:1:2::1')).toBe(hasher.hashClient('2001:db8:1:2:a:b:c:d'));
    expect(hasher.hashClient('2001:db8:1:2::1')).toBe(hmac('ip\u00002001:db8:1:2::/64'));
    expect(hasher.hashClient('2001:db8:1:3::1')).not.toBe(hasher.hashClient('2001:db8:1:2::1'));
    expect(hasher.hashClient('::ffff:192.0.2.1')).toBe(hasher.hashClient('192.0.2.1'));
    const wider = new Hasher(SECRET, 48);
    expect(wider.hashClient('2001:db8:1:2::1')).toBe(wider.hashClient('2001:db8:1:ffff::1'));
  });

  it('hashes a client network by IPv4 /24 and IPv6 /48, in a domain of its own', () => {
    const hasher = new Hasher(SECRET);
    expect(hasher.hashClientNetwork('198.51.100.7')).toBe(hasher.hashClientNetwork('198.51.100.9'));
    expect(hasher.hashClientNetwork('198.51.101.7')).not.toBe(
      hasher.hashClientNetwork('198.51.100.7'),
    );
    expect(hasher.hashClientNetwork('2001:db8:1:2::1')).toBe(
      hasher.hashClientNetwork('2001:db8:1:ff::1'),
    );
    expect(hasher.hashClientNetwork('198.51.100.7')).not.toBe(hasher.hashClient('198.51.100.0/24'));
    // Never finer than a client: with CLIENT_IPV6_PREFIX=32 the network is the /32 too.
    const wide = new Hasher(SECRET, 32);
    expect(wide.hashClientNetwork('2001:db8:1::1')).toBe(wide.hashClientNetwork('2001:db8:2::1'));
  });

  it('keys on the secret: another secret, other hashes', () => {
    expect(new Hasher(SECRET).hash('phone', '+251911234567')).not.toBe(
      new Hasher(`${SECRET}x`).hash('phone', '+251911234567'),
    );
  });

  it('matches in constant time and only the exact hash', () => {
    const hasher = new Hasher(SECRET);
    const hash = hasher.hash('code', '123456');
    expect(hasher.matches('code', '123456', hash)).toBe(true);
    expect(hasher.matches('code', '123457', hash)).toBe(false);
    expect(hasher.matches('code', '123456', hash.slice(1))).toBe(false);
  });
});
