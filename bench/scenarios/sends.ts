/** Sends: accepted (2, 2m, 7a), refused by the number's own limits (3, 7b), a slow Twilio (6, 6b). */
import { Context } from '../context';
import { CONNECTIONS, SECONDS, WARMUP_SECONDS } from '../settings';
import { AppProcess } from '../support/app.process';
import { LoadOptions } from '../support/load';
import { ScenarioResult } from '../support/report';
import { ethiopianMobile, seedOverLimitPhone } from '../support/seed';
import { runScenario } from './run-scenario';

/** Bodies for sends to fresh numbers of one range, one number per request. */
export function freshSends(range: number, offset = 0): () => unknown {
  const purpose = 'registration';
  let next = offset;
  return () => ({ phoneNumber: ethiopianMobile(range, next++), purpose });
}

export const sendLoad = (
  body: () => unknown,
  connections = CONNECTIONS,
  seconds = SECONDS,
): Omit<LoadOptions, 'url'> => ({
  method: 'POST',
  path: '/sms/send-verification',
  connections,
  durationSeconds: seconds,
  body,
});

export async function acceptedSends(
  context: Context,
  id: string,
  app: AppProcess,
  range: number,
  name: string,
  offset = 0,
  checkDatabaseWrites = false,
) {
  await context.fake.reset();
  const body = freshSends(range, offset);
  return runScenario(context, {
    id,
    name,
    app,
    connections: CONNECTIONS,
    expectedStatuses: [200],
    warmup: sendLoad(body, CONNECTIONS, WARMUP_SECONDS),
    load: sendLoad(body),
    checkDatabaseWrites,
  });
}

/** Writes `attacker` into Redis as 50 sends just now, so its own layers refuse it all run long. */
export function seedAttacker(context: Context, attacker: string): Promise<void> {
  return seedOverLimitPhone(context.redis, {
    keyPrefix: context.redisPrefix,
    e164: attacker,
    hits: 50,
    config: context.smsLimits,
    hasher: context.hasher,
    nowMs: Date.now(),
  });
}

export async function rejectedSends(
  context: Context,
  id: string,
  app: AppProcess,
  attacker: string,
  name: string,
  whileSettling?: () => Promise<unknown>,
) {
  await seedAttacker(context, attacker);
  const body = () => ({ phoneNumber: attacker, purpose: 'registration' });
  return runScenario(context, {
    id,
    name,
    app,
    connections: CONNECTIONS,
    expectedStatuses: [429],
    warmup: sendLoad(body, CONNECTIONS, WARMUP_SECONDS),
    load: sendLoad(body),
    checkDatabaseWrites: true,
    whileSettling,
  });
}

export async function slowTwilioScenario(
  context: Context,
  id: string,
  app: AppProcess,
  range: number,
  name: string,
): Promise<ScenarioResult> {
  await context.fake.reset();
  await context.fake.setLatency(300);
  const body = freshSends(range);
  try {
    return await runScenario(context, {
      id,
      name,
      app,
      connections: 500,
      twilioLatencyMs: 300,
      expectedStatuses: [200],
      warmup: sendLoad(body, 500, WARMUP_SECONDS),
      load: sendLoad(body, 500),
    });
  } finally {
    await context.fake.setLatency(0);
  }
}
