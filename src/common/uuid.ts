import { randomFillSync } from 'node:crypto';

/**
 * An RFC 9562 version 7 UUID: the Unix time in milliseconds (48 bits), then 74 random bits.
 * Ids made later sort later, so a B-tree over them grows at its right edge: with random (version
 * 4) ids every insert lands on a random leaf page, which a table of millions of rows no longer
 * keeps in PostgreSQL's buffers. The creation time it carries is no secret (the API returns
 * date_created beside the id); 74 random bits keep ids unguessable.
 */
export function uuidV7(now: number = Date.now()): string {
  const bytes = Buffer.alloc(16);
  randomFillSync(bytes, 6, 10);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (bytes[6] & 0x0f); // version 7
  bytes[8] = 0x80 | (bytes[8] & 0x3f); // variant 10
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
