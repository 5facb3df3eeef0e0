import { randomBytes, randomFillSync, randomInt } from 'node:crypto';

/** Cryptographic randomness behind a DI token, so tests can make codes predictable. */
export abstract class RandomSource {
  /** Uniform decimal digits, leading zeros kept (NIST 800-63B §5.1.3.2). */
  abstract digits(length: number): string;
  /** URL-safe random token of the given entropy in bytes. */
  abstract token(bytes: number): string;
  /** Hex string of the given number of random bytes. */
  abstract hex(bytes: number): string;
}

/**
 * Bytes drawn from the CSPRNG this many at a time. Each draw is a call into OpenSSL that costs
 * about as much for 4 KiB as for 32 bytes (a token per verified code, per login): one draw now
 * serves 128 tokens. The bytes are the same CSPRNG output either way; each is handed out once and
 * zeroed in the pool as soon as it is encoded.
 */
const POOL_BYTES = 4096;

export class CryptoRandomSource extends RandomSource {
  private readonly pool = Buffer.alloc(POOL_BYTES);
  /** Bytes before this offset are spent (zeroed); the pool starts empty. */
  private offset = POOL_BYTES;

  digits(length: number): string {
    let digits = '';
    for (let index = 0; index < length; index += 1) digits += String(randomInt(10));
    return digits;
  }

  token(bytes: number): string {
    return this.encode(bytes, 'base64url');
  }

  hex(bytes: number): string {
    return this.encode(bytes, 'hex');
  }

  private encode(bytes: number, encoding: 'base64url' | 'hex'): string {
    if (bytes > POOL_BYTES) return randomBytes(bytes).toString(encoding);
    if (this.offset + bytes > POOL_BYTES) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const drawn = this.pool.subarray(this.offset, this.offset + bytes);
    this.offset += bytes;
    const encoded = drawn.toString(encoding);
    drawn.fill(0);
    return encoded;
  }
}
