import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type PasswordRule =
  'too_short' | 'too_long' | 'common' | 'repetitive' | 'sequential' | 'contains_phone_number';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

const LIST_FILE = 'common-passwords.txt';
const LIST_FROM_ROOT = join('src', 'auth', 'password', LIST_FILE);

/**
 * The shipped list of common passwords: next to this module when a build copies it there,
 * otherwise in the sources under the project root (tsc does not copy text files into dist).
 */
export function findCommonPasswordList(startDirectory: string = __dirname): string {
  const beside = join(startDirectory, LIST_FILE);
  if (existsSync(beside)) return beside;
  for (let directory = startDirectory; ; directory = dirname(directory)) {
    const candidate = join(directory, LIST_FROM_ROOT);
    if (existsSync(join(directory, 'package.json')) && existsSync(candidate)) return candidate;
    if (dirname(directory) === directory) {
      throw new Error(`The common-password list ${LIST_FROM_ROOT} was not found`);
    }
  }
}

export function loadCommonPasswords(path: string = findCommonPasswordList()): Set<string> {
  const entries = readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.normalize('NFKC').toLowerCase());
  if (entries.length === 0) throw new Error(`The common-password list ${path} is empty`);
  return new Set(entries);
}

/**
 * NIST SP 800-63B §5.1.1.2 normalizes passwords (NFKC here) so that the same visible password
 * typed on two keyboards is one password. Hashing and the policy both see this form.
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/**
 * New passwords after NIST SP 800-63B §5.1.1.2: 8 to 128 characters (Unicode code points),
 * every character allowed, no composition rules ("one digit, one symbol"), and a refusal of
 * values that are commonly used or expected: the shipped list (any case), a few characters
 * repeated, a run like "abcdefgh", or the account's own phone number.
 */
export class PasswordPolicy {
  constructor(private readonly common: ReadonlySet<string>) {}

  /** The first rule the password breaks, or undefined when it is acceptable. */
  check(password: string, context: { e164?: string } = {}): PasswordRule | undefined {
    const normalized = normalizePassword(password);
    const characters = [...normalized];
    if (characters.length < PASSWORD_MIN_LENGTH) return 'too_short';
    if (characters.length > PASSWORD_MAX_LENGTH) return 'too_long';
    const folded = normalized.toLowerCase();
    if (this.common.has(folded)) return 'common';
    if (isRepetitive([...folded])) return 'repetitive';
    if (isSequential([...folded])) return 'sequential';
    if (context.e164 && containsPhoneNumber(folded, context.e164)) return 'contains_phone_number';
    return undefined;
  }
}

/** "aaaaaaaa", "abababab", "abcabcabc": a unit of up to four characters, repeated. */
function isRepetitive(characters: string[]): boolean {
  for (let unit = 1; unit <= 4; unit += 1) {
    if (characters.length < unit * 2) break;
    if (characters.every((character, index) => character === characters[index % unit])) {
      return true;
    }
  }
  return false;
}

/** "12345678", "hgfedcba": every character one code point above (or below) the previous one. */
function isSequential(characters: string[]): boolean {
  const points = characters.map((character) => character.codePointAt(0)!);
  const step = points[1] - points[0];
  if (step !== 1 && step !== -1) return false;
  return points.every((point, index) => index === 0 || point - points[index - 1] === step);
}

/** The national part of the number (its last 9 digits, or all of them when shorter). */
function containsPhoneNumber(password: string, e164: string): boolean {
  const digits = e164.replace(/\D/g, '');
  const national = digits.slice(-9);
  const passwordDigits = password.replace(/\D/g, '');
  return passwordDigits.includes(national);
}
