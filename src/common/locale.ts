/** Languages we have SMS texts for (i18n/<locale>/sms.json). */
export const SUPPORTED_LOCALES = ['en', 'am', 'fr'] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];

export function isSupportedLocale(value: string): value is Locale {
  return (SUPPORTED_LOCALES as readonly string[]).includes(value);
}
