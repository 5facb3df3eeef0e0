import { DynamicModule, Module, Provider } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { I18nModule, I18nResolver } from 'nestjs-i18n';
import { FALLBACK_LOCALE, SmsTextService } from './sms-text.service';

/**
 * The project's `i18n` folder: the nearest ancestor holding both package.json and `i18n`. The
 * JSON is not copied into `dist`, so this works from `src/` (Jest) and `dist/src/` alike, even
 * if a build ever emits a `dist/package.json`.
 */
export function findI18nDirectory(startDirectory: string = __dirname): string {
  for (let directory = startDirectory; ; directory = dirname(directory)) {
    const candidate = join(directory, 'i18n');
    if (existsSync(join(directory, 'package.json')) && existsSync(candidate)) return candidate;
    if (dirname(directory) === directory) {
      throw new Error(`No i18n folder next to a package.json above ${startDirectory}`);
    }
  }
}

/**
 * Locales come from resolveLocale, never from the request. nestjs-i18n logs an error at boot
 * when it has no resolver, so it gets one that never decides anything.
 */
const noRequestLanguage: I18nResolver = { resolve: () => undefined };

/**
 * nestjs-i18n used only as a translation store. Its request middleware (and Fastify preHandler
 * hook) is disabled, and the global interceptor it always registers is removed, so routes
 * outside SMS texts behave exactly as they would without it.
 */
function i18nTranslationsOnly(): DynamicModule {
  const module = I18nModule.forRoot({
    fallbackLanguage: FALLBACK_LOCALE,
    loaderOptions: { path: findI18nDirectory(), watch: false },
    resolvers: [noRequestLanguage],
    disableMiddleware: true,
    skipAsyncHook: true,
  });
  return { ...module, providers: (module.providers ?? []).filter(isNotGlobalInterceptor) };
}

function isNotGlobalInterceptor(provider: Provider): boolean {
  return !(
    typeof provider === 'object' &&
    'provide' in provider &&
    provider.provide === APP_INTERCEPTOR
  );
}

@Module({
  imports: [i18nTranslationsOnly()],
  providers: [SmsTextService],
  exports: [SmsTextService],
})
export class SmsTextsModule {}
