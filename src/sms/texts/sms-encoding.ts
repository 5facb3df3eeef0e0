/**
 * How an SMS body is encoded and how many segments it is billed as. Follows GSM 03.38 (3GPP
 * TS 23.038) and Twilio's segment sizes: https://www.twilio.com/docs/glossary/what-sms-character-limit
 */

export type SmsCharacterEncoding = 'GSM-7' | 'UCS-2';

export interface SmsEncoding {
  encoding: SmsCharacterEncoding;
  /** Septets for GSM-7, UTF-16 code units for UCS-2. */
  units: number;
  segments: number;
}

/** GSM 03.38 default alphabet, one septet each (0x1B, the escape to the extension table, is not a character). */
const GSM_BASIC_CHARACTERS = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);

/** The extension table: each is sent as escape + character, so it costs two septets. */
const GSM_EXTENSION_CHARACTERS = new Set('\f^{}\\[~]|€');

/** Units a single-segment message may hold, and units per part once the message is split. */
const CAPACITY: Record<SmsCharacterEncoding, { single: number; perPart: number }> = {
  'GSM-7': { single: 160, perPart: 153 },
  'UCS-2': { single: 70, perPart: 67 },
};

export function isGsm7(text: string): boolean {
  for (const character of text) {
    if (!GSM_BASIC_CHARACTERS.has(character) && !GSM_EXTENSION_CHARACTERS.has(character)) {
      return false;
    }
  }
  return true;
}

/** Encoding, size and segment count of a message body as a carrier would send it. */
export function smsEncoding(text: string): SmsEncoding {
  const encoding: SmsCharacterEncoding = isGsm7(text) ? 'GSM-7' : 'UCS-2';
  // Iterating a string yields code points, so a surrogate pair stays one 2-unit character.
  const characterSizes = Array.from(text, (character) =>
    encoding === 'GSM-7' ? (GSM_EXTENSION_CHARACTERS.has(character) ? 2 : 1) : character.length,
  );
  const units = characterSizes.reduce((sum, size) => sum + size, 0);
  return { encoding, units, segments: countSegments(characterSizes, units, CAPACITY[encoding]) };
}

function countSegments(
  characterSizes: number[],
  units: number,
  capacity: { single: number; perPart: number },
): number {
  // An empty body still travels as one (empty) message.
  if (units <= capacity.single) return 1;
  // Each part of a split message gives up room to the concatenation header, and a character
  // never straddles two parts (an escape pair or a surrogate pair moves whole to the next part).
  let segments = 1;
  let used = 0;
  for (const size of characterSizes) {
    if (used + size > capacity.perPart) {
      segments += 1;
      used = 0;
    }
    used += size;
  }
  return segments;
}
