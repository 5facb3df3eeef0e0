import { createHmac } from 'node:crypto';
import { Hasher } from './hasher';

const SECRET = 'a-test-secret-of-enough-length-000';
const hmac = (input: string) => createHmac('sha256', SECRET).update(input).digest('hex');

describe('Hasher', () => {
  it('is an HMAC-SHA256 of the domain and the value, so domains never collide', () => {
    const hasher = new Hasher(SECRET);
    expect(hasher.hash('phone', '+251911234567')).toBe(hmac('phone\u0000+251911234567'));
    expect(hasher.hash('code', '123456')).toBe(hmac('code\u0000123456'));
    expect(hasher.hash('ip', '10.0.0.1')).not.toBe(hasher.hash('phone-prefix', '10.0.0.1'));
  });

  it('answers a repeated value the same, across however many other values came between', () => {
    const hasher = new Hasher(SECRET);
    const first = hasher.hash('ip', '192.0.2.1');
    for (let index = 0; index < 12_000; index += 1) hasher.hash('phone', `+2519${index}`);
    expect(hasher.hash('ip', '192.0.2.1')).toBe(first);
    expect(first).toBe(hmac('ip\u0000192.0.2.1'));
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
