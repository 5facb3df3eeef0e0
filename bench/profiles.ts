/** The app under `--cpu-prof` on the loads of scenarios 2, 3, 4a and 4b (docs/BENCHMARKS.md). */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context, startApp } from './context';
import { freshSends, seedAttacker, sendLoad } from './scenarios/sends';
import { withRandomCodes, wrongCode } from './scenarios/verify';
import {
  CONNECTIONS,
  RANGE,
  RIGHT_CODE_PROFILE_PHONES,
  SECONDS,
  WARMUP_SECONDS,
  WRONG_CODE_PHONES,
} from './settings';
import { summarizeCpuProfile } from './support/cpu-profile';
import { log } from './support/lifecycle';
import { LoadOptions, runLoad } from './support/load';
import { RunResults } from './support/report';
import { ethiopianMobile, ethiopianMobiles, prepareVerifications } from './support/seed';

export type Profile = NonNullable<RunResults['profile']>;

/** The app under `--cpu-prof` for one load, the summary kept to the measured window. */
export async function profileLoad(
  context: Context,
  label: string,
  load: Omit<LoadOptions, 'url'>,
): Promise<Profile> {
  const directory = mkdtempSync(join(tmpdir(), 'sms-bench-profile-'));
  context.cleanup.add('profile directory', async () =>
    rmSync(directory, { recursive: true, force: true }),
  );
  const app = await startApp(context, {
    nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${directory}`],
  });
  await context.fake.reset();
  log(`profile: ${label} under --cpu-prof`);
  await runLoad({ url: app.url, ...load, durationSeconds: WARMUP_SECONDS });
  const from = process.hrtime.bigint();
  const measured = await runLoad({ url: app.url, ...load });
  const to = process.hrtime.bigint();
  await app.stop();
  const [file] = readdirSync(directory).filter((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error('the profiled app wrote no .cpuprofile');
  const summary = summarizeCpuProfile(join(directory, file), {
    fromMicros: Number(from / 1000n),
    toMicros: Number(to / 1000n),
  });
  return { ...summary, requestsPerSecond: measured.requestsPerSecond, requests: measured.requests };
}

export function profileSendPath(context: Context): Promise<Profile> {
  return profileLoad(context, 'scenario 2', sendLoad(freshSends(RANGE.profile)));
}

/** Scenario 3's load on a phone of its own, seeded over its limits the same way. */
export async function profileRejectedPath(context: Context): Promise<Profile> {
  const attacker = ethiopianMobile(RANGE.attackers, 3);
  await seedAttacker(context, attacker);
  return profileLoad(
    context,
    'scenario 3',
    sendLoad(() => ({ phoneNumber: attacker, purpose: 'registration' })),
  );
}

/** The code-check profiles: which prepared verifications, and which code each request sends. */
export const PROFILED_CODES = {
  wrong: { phones: WRONG_CODE_PHONES, offset: 500_000, label: 'scenario 4a', codeOf: wrongCode },
  right: {
    phones: RIGHT_CODE_PROFILE_PHONES,
    offset: 600_000,
    label: 'scenario 4b',
    codeOf: (code: string) => code,
  },
} as const;

/**
 * Scenario 4a's load (wrong codes, 9 per prepared verification) or 4b's (right codes, each
 * verification once) on an app of its own.
 */
export async function profileVerifyPath(
  context: Context,
  codes: 'wrong' | 'right',
  maxAttempts: number,
): Promise<Profile> {
  // The send path's profile takes this range's first numbers; these start far above them, the
  // right codes' above the wrong codes'.
  const { phones, offset, label, codeOf } = PROFILED_CODES[codes];
  const prepared = withRandomCodes(ethiopianMobiles(RANGE.profile, phones, offset));
  await prepareVerifications(context.monitor, context.hasher, prepared, {
    maxAttempts,
    expiryMinutes: 60,
  });
  let index = 0;
  const profile = await profileLoad(context, label, {
    method: 'POST',
    path: '/sms/verify-code',
    connections: CONNECTIONS,
    durationSeconds: SECONDS,
    body: () => {
      const { e164, code } = prepared[index++ % prepared.length];
      return { phoneNumber: e164, code: codeOf(code), purpose: 'registration' };
    },
  });
  if (codes === 'right' && index > prepared.length) {
    throw new Error(
      'the right-code profile ran out of prepared verifications; raise RIGHT_CODE_PROFILE_PHONES',
    );
  }
  return profile;
}
