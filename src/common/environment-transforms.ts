/**
 * class-transformer transforms of raw environment strings, shared by every module's environment
 * class (`*.environment.ts`). A value one cannot read passes on unchanged, for the validators to
 * refuse naming the variable.
 */

interface Raw {
  value: unknown;
}

export const toInteger = ({ value }: Raw): unknown =>
  typeof value === 'string' && value.trim() !== '' && /^-?\d+$/.test(value.trim())
    ? Number(value.trim())
    : value;

export const toBoolean = ({ value }: Raw): unknown => {
  if (typeof value !== 'string') return value;
  const normalized = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalized)) return true;
  if (['false', '0', 'no', 'off'].includes(normalized)) return false;
  return value;
};

export const toDecimal = ({ value }: Raw): unknown =>
  typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;

/** Blank is unset. */
export const toTrimmed = ({ value }: Raw): unknown =>
  typeof value === 'string' ? (value.trim() === '' ? undefined : value.trim()) : value;

export const toLowerTrimmed = ({ value }: Raw): unknown =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

/** An optional number: blank is unset rather than refused. */
export const toOptionalInteger = ({ value }: Raw): unknown =>
  toInteger({ value: toTrimmed({ value }) });

export const toOptionalDecimal = ({ value }: Raw): unknown =>
  toDecimal({ value: toTrimmed({ value }) });
