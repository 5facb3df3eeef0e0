import { isSupportedLocale, Locale } from '../../common/locale';
import { SmsConfig } from '../sms.config';

export interface LocaleHints {
  /** The locale the client asked for in the request body, e.g. `am` or `am-ET`. */
  requested?: string;
  /** The raw Accept-Language header. */
  acceptLanguage?: string;
  /** ISO 3166-1 alpha-2 country of the phone number, e.g. `ET`. */
  country?: string;
}

export type LocaleResolverConfig = Pick<SmsConfig, 'defaultLocale' | 'countryLocales'>;

/** Real browsers send well under this; anything longer is not worth parsing. */
export const MAX_ACCEPT_LANGUAGE_LENGTH = 1024;

/** BCP 47 shape, loosely: a primary subtag and optional subtags (`fr`, `fr-CA`, `zh-Hant-TW`). */
const LANGUAGE_TAG = /^[a-z]{1,8}(?:[-_][a-z0-9]{1,8})*$/i;

/** RFC 9110 §12.4.2 qvalue: 0 to 1 with at most three decimals. */
const QUALITY_VALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * Which language an SMS is written in: the locale the client asked for, then the languages its
 * Accept-Language header prefers, then the usual language of the phone's country, then the
 * configured default. Unsupported or malformed hints fall through to the next step.
 */
export function resolveLocale(hints: LocaleHints, config: LocaleResolverConfig): Locale {
  const requested = hints.requested === undefined ? undefined : supportedLocaleOf(hints.requested);
  if (requested) return requested;

  for (const tag of acceptedLanguageTags(hints.acceptLanguage)) {
    const accepted = supportedLocaleOf(tag);
    if (accepted) return accepted;
  }

  const countryLocale = hints.country
    ? config.countryLocales.get(hints.country.trim().toUpperCase())
    : undefined;
  if (countryLocale && isSupportedLocale(countryLocale)) return countryLocale;

  return config.defaultLocale;
}

/** `am-ET`, `AM`, `am_ET` → `am`; undefined when the tag is malformed or not a language we ship. */
function supportedLocaleOf(tag: string): Locale | undefined {
  const trimmed = tag.trim();
  if (!LANGUAGE_TAG.test(trimmed)) return undefined;
  const primary = trimmed.split(/[-_]/)[0].toLowerCase();
  return isSupportedLocale(primary) ? primary : undefined;
}

/**
 * The language tags of an Accept-Language header, most preferred first (equal weights keep the
 * header's order). Drops `*`, entries with q=0 ("not acceptable") and entries that do not parse.
 */
export function acceptedLanguageTags(header: string | undefined): string[] {
  if (!header || header.length > MAX_ACCEPT_LANGUAGE_LENGTH) return [];
  const entries: { tag: string; quality: number }[] = [];
  for (const entry of header.split(',')) {
    const [rawTag, ...parameters] = entry.split(';');
    const tag = rawTag.trim();
    if (!LANGUAGE_TAG.test(tag)) continue;
    const quality = qualityOf(parameters);
    if (quality === undefined || quality === 0) continue;
    entries.push({ tag, quality });
  }
  // Array.prototype.sort is stable, so ties keep the client's order.
  return entries.sort((a, b) => b.quality - a.quality).map((entry) => entry.tag);
}

/** The q parameter's weight (1 when absent); undefined when the parameters are malformed. */
function qualityOf(parameters: string[]): number | undefined {
  let quality = 1;
  for (const parameter of parameters) {
    const [name, value, ...rest] = parameter.split('=').map((part) => part.trim());
    if (name.toLowerCase() !== 'q' || value === undefined || rest.length > 0) return undefined;
    if (!QUALITY_VALUE.test(value)) return undefined;
    quality = Number(value);
  }
  return quality;
}
