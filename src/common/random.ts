import { randomBytes, randomInt } from 'node:crypto';

/** Cryptographic randomness behind a DI token, so tests can make codes predictable. */
export abstract class RandomSource {
  /** Uniform decimal digits, leading zeros kept (NIST 800-63B §5.1.3.2). */
  abstract digits(length: number): string;
  /** URL-safe random token of the given entropy in bytes. */
  abstract token(bytes: number): string;
  /** Hex string of the given number of random bytes. */
  abstract hex(bytes: number): string;
}

export class CryptoRandomSource extends RandomSource {
  digits(length: number): string {
    let digits = '';
    for (let index = 0; index < length; index += 1) digits += String(randomInt(10));
    return digits;
  }

  token(bytes: number): string {
    return randomBytes(bytes).toString('base64url');
  }

  hex(bytes: number): string {
    return randomBytes(bytes).toString('hex');
  }
}
