import { Injectable } from '@nestjs/common';
import { I18nService } from 'nestjs-i18n';
import { Locale } from '../../common/locale';
import { PURPOSES, Purpose } from '../../common/purpose';
import { SmsCharacterEncoding, smsEncoding } from './sms-encoding';

/** The texts in i18n/<locale>/sms.json: one per purpose, plus notices that carry no code. */
export const SMS_NOTICE_KEYS = ['phone_changed', 'password_changed'] as const;
export type SmsNoticeKey = (typeof SMS_NOTICE_KEYS)[number];
export const SMS_TEXT_KEYS = [...PURPOSES, ...SMS_NOTICE_KEYS] as const;
export type SmsTextKey = Purpose | SmsNoticeKey;

/** The language every text exists in; a text missing from another locale is sent in this one. */
export const FALLBACK_LOCALE: Locale = 'en';

export interface SmsTextParams {
  code?: string;
  minutes?: number;
}

export interface RenderedSms {
  body: string;
  /** The language the body is written in (the fallback when the requested one lacks the text). */
  locale: Locale;
  encoding: SmsCharacterEncoding;
  segments: number;
}

export interface SmsTranslations {
  sms: Record<SmsTextKey, string>;
}

const PLACEHOLDER = /\{(\w+)\}/g;

@Injectable()
export class SmsTextService {
  constructor(private readonly i18n: I18nService<SmsTranslations>) {}

  render(text: SmsTextKey, locale: Locale, params: SmsTextParams = {}): RenderedSms {
    const writtenIn = this.hasText(locale, text) ? locale : FALLBACK_LOCALE;
    const template = this.templateOf(writtenIn, text);
    if (template === undefined) {
      throw new Error(`There is no SMS text "sms.${text}" in ${locale} or ${FALLBACK_LOCALE}`);
    }
    const body = this.i18n.t(`sms.${text}`, {
      lang: writtenIn,
      args: argumentsFor(template, params, text),
    });
    const { encoding, segments } = smsEncoding(body);
    return { body, locale: writtenIn, encoding, segments };
  }

  private hasText(locale: Locale, text: SmsTextKey): boolean {
    return this.templateOf(locale, text) !== undefined;
  }

  private templateOf(locale: Locale, text: SmsTextKey): string | undefined {
    const translations = this.i18n.getTranslations()[locale];
    const texts = typeof translations === 'object' ? translations['sms'] : undefined;
    const template = typeof texts === 'object' ? texts[text] : undefined;
    return typeof template === 'string' ? template : undefined;
  }
}

/**
 * The values for the template's placeholders. A missing value would otherwise be rendered as an
 * empty string and an SMS such as "Your login code is: ." would go out.
 */
function argumentsFor(
  template: string,
  params: SmsTextParams,
  text: SmsTextKey,
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [, placeholder] of template.matchAll(PLACEHOLDER)) {
    switch (placeholder) {
      case 'code':
        if (params.code === undefined || !/^\d+$/.test(params.code)) {
          throw new Error(`The SMS text "${text}" needs a numeric code`);
        }
        values.code = params.code;
        break;
      case 'minutes':
        if (
          params.minutes === undefined ||
          !Number.isInteger(params.minutes) ||
          params.minutes < 1
        ) {
          throw new Error(`The SMS text "${text}" needs a whole number of minutes`);
        }
        values.minutes = String(params.minutes);
        break;
      default:
        throw new Error(`The SMS text "${text}" has an unknown placeholder {${placeholder}}`);
    }
  }
  return values;
}
