import { randomInt } from 'node:crypto';
import { Context } from '../context';
import {
  CONNECTIONS,
  RANGE,
  RIGHT_CODE_PHONES,
  SECONDS,
  WARMUP_SECONDS,
  WRONG_CODE_PHONES,
} from '../settings';
import { AppProcess } from '../support/app.process';
import { LoadOptions } from '../support/load';
import { ethiopianMobiles, prepareVerifications } from '../support/seed';
import { runScenario } from './run-scenario';

/** Each number with the six-digit code its prepared verification will be written with. */
export function withRandomCodes(phones: string[]): { e164: string; code: string }[] {
  return phones.map((e164) => ({ e164, code: String(randomInt(1_000_000)).padStart(6, '0') }));
}

export function wrongCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
}

export async function verifyScenarios(
  context: Context,
  app: AppProcess,
  maxAttempts: number,
  expiryMinutes: number,
) {
  const prepare = (range: number, count: number) => withRandomCodes(ethiopianMobiles(range, count));
  const wrong = prepare(RANGE.wrongCodes, WRONG_CODE_PHONES);
  const right = prepare(RANGE.rightCodes, RIGHT_CODE_PHONES);
  await prepareVerifications(context.monitor, context.hasher, [...wrong, ...right], {
    maxAttempts,
    expiryMinutes,
  });

  // Round robin: each verification takes at most maxAttempts - 1 wrong codes, all answered 200.
  let wrongIndex = 0;
  const wrongBody = () => {
    const { e164, code } = wrong[wrongIndex++ % wrong.length];
    return { phoneNumber: e164, code: wrongCode(code), purpose: 'registration' };
  };
  const verifyLoad = (body: () => unknown, options: Partial<LoadOptions>) => ({
    method: 'POST' as const,
    path: '/sms/verify-code',
    connections: CONNECTIONS,
    body,
    ...options,
  });
  const wrongResult = await runScenario(context, {
    id: '4a',
    name: 'verify-code, wrong codes',
    app,
    connections: CONNECTIONS,
    expectedStatuses: [200],
    warmup: verifyLoad(wrongBody, { durationSeconds: WARMUP_SECONDS }),
    load: verifyLoad(wrongBody, { durationSeconds: SECONDS }),
  });
  if (wrongIndex > wrong.length * (maxAttempts - 1)) {
    throw new Error('verify-code ran out of prepared verifications; raise WRONG_CODE_PHONES');
  }

  let rightIndex = 0;
  const rightBody = () => {
    const { e164, code } = right[rightIndex++ % right.length];
    return { phoneNumber: e164, code, purpose: 'registration' };
  };
  const rightResult = await runScenario(context, {
    id: '4b',
    name: 'verify-code, right codes (each verification once)',
    app,
    connections: CONNECTIONS,
    expectedStatuses: [200],
    load: verifyLoad(rightBody, { amount: right.length }),
  });
  return [wrongResult, rightResult];
}
