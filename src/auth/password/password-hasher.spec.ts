import { PasswordHasher } from './password-hasher';

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher();

  it('stores argon2id with its parameters and a salt of its own per hash', async () => {
    const first = await hasher.hash('lantern-mosaic-47');
    const second = await hasher.hash('lantern-mosaic-47');
    expect(first).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(first).not.toBe(second);
    expect(first).not.toContain('lantern');
  });

  it('verifies the right password only', async () => {
    const hash = await hasher.hash('lantern-mosaic-47');
    expect(await hasher.verify(hash, 'lantern-mosaic-47')).toBe(true);
    expect(await hasher.verify(hash, 'Lantern-mosaic-47')).toBe(false);
    expect(await hasher.verify(hash, '')).toBe(false);
  });

  it('treats composed and decomposed forms of one password alike (NFKC)', async () => {
    const hash = await hasher.hash('caf\u00e9-terrace-9');
    expect(await hasher.verify(hash, 'cafe\u0301-terrace-9')).toBe(true);
  });

  it('answers false, after the same work, when there is no account', async () => {
    expect(await hasher.verify(undefined, 'lantern-mosaic-47')).toBe(false);
    expect(await hasher.verify('not-an-argon2-hash', 'lantern-mosaic-47')).toBe(false);
  });
});
