import { Context, startApp } from '../context';
import { RANGE, SCALE_PHONES, SCALE_ROWS } from '../settings';
import { log } from '../support/lifecycle';
import { RunResults, ScenarioResult } from '../support/report';
import {
  deleteKeys,
  ethiopianMobile,
  seedHistoricVerifications,
  seedRateLimitKeys,
} from '../support/seed';
import { acceptedSends, rejectedSends } from './sends';

/**
 * Scenarios 7a and 7b: 2 and 3 again on a fresh app, with a million phones' limits in Redis and
 * five million rows in sms_verifications. `coldStartMs`: the app's, on the migrated database.
 */
export async function scaleScenarios(
  context: Context,
): Promise<{ scenarios: ScenarioResult[]; scale: RunResults['scale']; coldStartMs: number }> {
  const { redis, redisPrefix, databaseUrl } = context;
  const scenarios: ScenarioResult[] = [];
  log(
    `scale: ${SCALE_PHONES.toLocaleString('en-US')} phones in Redis, ${SCALE_ROWS.toLocaleString('en-US')} rows in sms_verifications`,
  );
  // The two seeds use different processes (Redis and this one, PostgreSQL's backends): together.
  const seconds = (since: number) => Math.round((performance.now() - since) / 100) / 10;
  const seedStarted = performance.now();
  const [[redisKeys, redisSeedSeconds], rowsSeedSeconds] = await Promise.all([
    seedRateLimitKeys(redis, {
      keyPrefix: redisPrefix,
      count: SCALE_PHONES,
      config: context.smsLimits,
      hasher: context.hasher,
      nowMs: Date.now(),
    }).then((keys) => [keys, seconds(seedStarted)] as const),
    seedHistoricVerifications(databaseUrl, SCALE_ROWS).then(() => seconds(seedStarted)),
  ]);
  log(
    `  ${redisKeys.toLocaleString('en-US')} Redis keys in ${redisSeedSeconds} s, ${SCALE_ROWS.toLocaleString('en-US')} rows in ${rowsSeedSeconds} s, at once`,
  );

  const appD = await startApp(context);
  scenarios.push(
    await acceptedSends(
      context,
      '7a',
      appD,
      RANGE.scale,
      'scale: scenario 2 with 1 M phones in Redis, 5 M rows',
      0,
      true,
    ),
  );
  scenarios.push(
    await rejectedSends(
      context,
      '7b',
      appD,
      ethiopianMobile(RANGE.attackers, 2),
      'scale: scenario 3 with 1 M phones in Redis, 5 M rows',
      // The last scenario: its 3 M keys go while the stats settle, not at cleanup (25 s).
      () => deleteKeys(redis, redisPrefix),
    ),
  );
  await appD.stop();
  return {
    scenarios,
    scale: { redisKeys, redisSeedSeconds, rows: SCALE_ROWS, rowsSeedSeconds },
    coldStartMs: Math.round(appD.coldStartMs),
  };
}
