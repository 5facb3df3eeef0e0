import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  PasswordPolicy,
  findCommonPasswordList,
  loadCommonPasswords,
  normalizePassword,
} from './password-policy';

describe('PasswordPolicy (NIST SP 800-63B §5.1.1.2)', () => {
  const policy = new PasswordPolicy(loadCommonPasswords());

  it('accepts 8 to 128 characters without composition rules', () => {
    expect(policy.check('lantern-mosaic-47')).toBeUndefined();
    expect(policy.check('alllowercasewords')).toBeUndefined();
    expect(policy.check('x7#Kp2!q')).toBeUndefined();
    expect(policy.check('z'.repeat(60) + 'y'.repeat(68))).toBeUndefined();
  });

  it('refuses fewer than 8 and more than 128 characters', () => {
    expect(policy.check('')).toBe('too_short');
    expect(policy.check('k9#mQ2p')).toBe('too_short');
    expect(policy.check('k9#mQ2pz')).toBeUndefined();
    expect(policy.check('ab'.repeat(64) + 'c')).toBe('too_long');
  });

  it('counts Unicode code points, not UTF-16 units', () => {
    // Seven emoji are 14 UTF-16 units but 7 characters: too short.
    expect(policy.check('🐢🦒🐘🦓🐆🦏🐪')).toBe('too_short');
    expect(policy.check('🐢🦒🐘🦓🐆🦏🐪🦘')).toBeUndefined();
    // 128 emoji (256 UTF-16 units) are 128 characters: allowed.
    const animals = [...'🐢🦒🐘🦓🐆🦏🐪🦘'];
    const long = Array.from({ length: 128 }, (_, index) => animals[(index * 3) % 8]).join('');
    expect(policy.check(long)).toBeUndefined();
    expect(policy.check(`${long}🐢`)).toBe('too_long');
  });

  it('allows spaces and any script', () => {
    expect(policy.check('correct stapler on a blue ox')).toBeUndefined();
    expect(policy.check('የይለፍ ቃል ምሳሌ ነው')).toBeUndefined();
  });

  it.each([
    '12345678',
    'password',
    'qwertyuiop',
    'iloveyou',
    'ethiopia',
    'Password1',
    'PASSWORD',
    'QwErTyUiOp',
  ])('refuses the common password %j whatever its case', (password) => {
    expect(policy.check(password)).toBe('common');
  });

  it.each(['aaaaaaaaa', 'abababab', 'xyzxyzxyz', '9q9q9q9q9q'])(
    'refuses the repetitive %j',
    (password) => {
      expect(policy.check(password)).toBe('repetitive');
    },
  );

  it.each(['abcdefghij', 'hgfedcba', '23456789'])('refuses the sequential %j', (password) => {
    expect(policy.check(password)).toBe('sequential');
  });

  it('refuses a password that contains the phone number', () => {
    const e164 = '+251911234567';
    expect(policy.check('me0911234567', { e164 })).toBe('contains_phone_number');
    expect(policy.check('+251911234567', { e164 })).toBe('contains_phone_number');
    expect(policy.check('me0911234567')).toBeUndefined();
    expect(policy.check('lantern-mosaic-47', { e164 })).toBeUndefined();
  });

  it('normalizes with NFKC, so one visible password is one password', () => {
    const composed = 'caf\u00e9-terrace-9';
    const decomposed = 'cafe\u0301-terrace-9';
    expect(normalizePassword(decomposed)).toBe(normalizePassword(composed));
    expect(policy.check('\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44')).toBe('common');
  });
});

describe('the shipped common-password list', () => {
  const path = findCommonPasswordList();
  const entries = readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'));

  it('is found from the sources and from the compiled output', () => {
    const root = join(__dirname, '..', '..', '..');
    expect(findCommonPasswordList(join(root, 'dist', 'src', 'auth', 'password'))).toBe(path);
  });

  it('holds hundreds of lower-case entries, each one once and at least 8 characters long', () => {
    expect(entries.length).toBeGreaterThan(300);
    expect(new Set(entries).size).toBe(entries.length);
    for (const entry of entries) {
      expect(entry).toBe(entry.trim().toLowerCase());
      expect([...entry].length).toBeGreaterThanOrEqual(8);
    }
  });
});
