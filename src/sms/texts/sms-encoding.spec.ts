import { isGsm7, smsEncoding } from './sms-encoding';

const AMHARIC_LETTER = 'ሀ';
const EMOJI = '😀';

describe('smsEncoding', () => {
  describe('GSM-7', () => {
    it('sends plain ASCII as GSM-7, one septet per character', () => {
      expect(smsEncoding('Your code is: 123456')).toEqual({
        encoding: 'GSM-7',
        units: 20,
        segments: 1,
      });
    });

    it.each([
      'é',
      'É',
      'è',
      'à',
      'ù',
      'Ç',
      'Ñ',
      'ü',
      'ß',
      '£',
      '¥',
      '§',
      '¿',
      'Δ',
      'Ω',
      '\n',
      '\r',
    ])('keeps %j in the GSM-7 basic set', (character) => {
      expect(smsEncoding(`a${character}b`)).toMatchObject({ encoding: 'GSM-7', units: 3 });
    });

    it.each(['^', '{', '}', '\\', '[', '~', ']', '|', '€', '\f'])(
      'counts the extension character %j as two septets',
      (character) => {
        expect(smsEncoding(`a${character}`)).toMatchObject({ encoding: 'GSM-7', units: 3 });
      },
    );

    it('fits 160 septets in one segment and splits 161 into two', () => {
      expect(smsEncoding('a'.repeat(160)).segments).toBe(1);
      expect(smsEncoding('a'.repeat(161)).segments).toBe(2);
    });

    it('puts 153 septets in each part of a split message', () => {
      expect(smsEncoding('a'.repeat(306)).segments).toBe(2);
      expect(smsEncoding('a'.repeat(307)).segments).toBe(3);
    });

    it('counts extension characters double against the single-segment limit', () => {
      expect(smsEncoding('€'.repeat(80))).toMatchObject({ units: 160, segments: 1 });
      expect(smsEncoding('€'.repeat(81))).toMatchObject({ units: 162, segments: 2 });
    });

    it('never splits an escape sequence across two parts', () => {
      // 306 septets would fill two parts exactly, but the € cannot start at the 153rd septet.
      const text = `${'a'.repeat(152)}€${'a'.repeat(152)}`;
      expect(smsEncoding(text)).toEqual({ encoding: 'GSM-7', units: 306, segments: 3 });
    });
  });

  describe('UCS-2', () => {
    it.each(['ç', 'ê', 'â', 'î', 'ô', 'û', 'ë', 'ï', '’', '\u00a0', AMHARIC_LETTER, EMOJI])(
      'falls back to UCS-2 for %j',
      (character) => {
        expect(isGsm7(`Code ${character}`)).toBe(false);
        expect(smsEncoding(`Code ${character}`).encoding).toBe('UCS-2');
      },
    );

    it('counts every character of a UCS-2 message as one unit, extension characters included', () => {
      expect(smsEncoding(`${AMHARIC_LETTER}€{`)).toEqual({
        encoding: 'UCS-2',
        units: 3,
        segments: 1,
      });
    });

    it('fits 70 units in one segment and 67 in each part of a split message', () => {
      expect(smsEncoding(AMHARIC_LETTER.repeat(70)).segments).toBe(1);
      expect(smsEncoding(AMHARIC_LETTER.repeat(71)).segments).toBe(2);
      expect(smsEncoding(AMHARIC_LETTER.repeat(134)).segments).toBe(2);
      expect(smsEncoding(AMHARIC_LETTER.repeat(135)).segments).toBe(3);
    });

    it('counts a character outside the BMP as two UTF-16 code units', () => {
      expect(smsEncoding(EMOJI.repeat(35))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
      expect(smsEncoding(EMOJI.repeat(36))).toEqual({ encoding: 'UCS-2', units: 72, segments: 2 });
    });

    it('never splits a surrogate pair across two parts', () => {
      // 134 units would fill two parts exactly, but the emoji cannot start at the 67th unit.
      const text = `${'a'.repeat(66)}${EMOJI}${'a'.repeat(66)}`;
      expect(smsEncoding(text)).toEqual({ encoding: 'UCS-2', units: 134, segments: 3 });
    });
  });

  it('treats an empty body as one GSM-7 segment', () => {
    expect(smsEncoding('')).toEqual({ encoding: 'GSM-7', units: 0, segments: 1 });
  });
});
