import { CryptoRandomSource } from './random';

describe('CryptoRandomSource', () => {
  it('hands out tokens of the asked entropy, none twice, across many refills of its pool', () => {
    const random = new CryptoRandomSource();
    const tokens = Array.from({ length: 2_000 }, () => random.token(32));
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('gives hex strings of the asked length, also when a draw does not fit what the pool has left', () => {
    const random = new CryptoRandomSource();
    const sizes = [1, 7, 16, 33, 100, 4_000, 4_096, 10_000];
    for (let round = 0; round < 20; round += 1) {
      for (const size of sizes)
        expect(random.hex(size)).toMatch(new RegExp(`^[0-9a-f]{${size * 2}}$`));
    }
  });

  it('spreads its bytes evenly (no byte value is missing or dominant over 256 KiB)', () => {
    const random = new CryptoRandomSource();
    const counts = new Array<number>(256).fill(0);
    for (let draw = 0; draw < 8_192; draw += 1) {
      for (const byte of Buffer.from(random.hex(32), 'hex')) counts[byte] += 1;
    }
    // 1,024 expected per value; six standard deviations (about 32 each) either way.
    expect(Math.min(...counts)).toBeGreaterThan(1_024 - 192);
    expect(Math.max(...counts)).toBeLessThan(1_024 + 192);
  });

  it('keeps no spent byte in memory: what it handed out is zeroed in its pool', () => {
    const random = new CryptoRandomSource();
    random.token(32);
    random.token(32);
    const pool = (random as unknown as { pool: Buffer }).pool;
    expect(pool.subarray(0, 64).every((byte) => byte === 0)).toBe(true);
    expect(pool.subarray(64).some((byte) => byte !== 0)).toBe(true);
  });

  it('draws uniform decimal digits with leading zeros kept', () => {
    const random = new CryptoRandomSource();
    const codes = Array.from({ length: 5_000 }, () => random.digits(6));
    for (const code of codes) expect(code).toMatch(/^\d{6}$/);
    expect(codes.some((code) => code.startsWith('0'))).toBe(true);
  });
});
