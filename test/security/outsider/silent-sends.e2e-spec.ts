import { createUser } from '../../factories/user.factory';
import { FakeTwilioServer } from '../../fakes/fake-twilio-server';
import {
  AuthClient,
  authTestEnvironment,
  authVerifyTestEnvironment,
} from '../../support/auth-client';
import { startFakeTwilio } from '../../support/fake-twilio-app';
import { RELAXED_LIMITS } from '../../support/relaxed-limits';
import { TestApp, startTestApp } from '../../support/test-app';
import { median } from '../support/http';
import { mannWhitneyP, wilcoxonSignedRankP } from '../support/statistics';

/**
 * A send that delivers nothing on purpose (a login code for a number without an account, a
 * registration code for one with an account) must be indistinguishable from a real one to whoever
 * sent it: every field of the answer, and the time the answer and a wrong code's check take.
 */

type Mode = 'twilio-messaging' | 'twilio-verify';

function modeEnvironment(mode: Mode, fake: FakeTwilioServer): Record<string, string> {
  return mode === 'twilio-messaging' ? authTestEnvironment(fake) : authVerifyTestEnvironment(fake);
}

/** The milliseconds a UUIDv7 carries in its first 48 bits, read off a sid's hex digits. */
function embeddedTimestamp(sid: string): number {
  return parseInt(sid.slice(2, 14), 16);
}

/** The smallest shift between two kinds of answer that counts as a leak, in milliseconds. */
const RESOLVABLE_SHIFT_MS = 1;

/**
 * Whether a client could tell delivered from silent by timing: the two samples differ significantly
 * (signed-rank over the back-to-back pairs, U over the whole samples) by a shift of a millisecond
 * or more. A smaller shift hides in the jitter of any network: at the per-number and per-client
 * send limits an attacker gets a few answers per number, not the thousands it would take to see it.
 */
function resolvableShift(label: string, real: number[], silent: number[]): boolean {
  const paired = wilcoxonSignedRankP(real, silent);
  const unpaired = mannWhitneyP(real, silent);
  const shiftMs = median(real.map((value, index) => value - silent[index]));
  console.log(
    `${label}, median ${median(real).toFixed(2)} ms delivered vs ` +
      `${median(silent).toFixed(2)} ms silent (paired shift ${shiftMs.toFixed(2)} ms): ` +
      `signed-rank p = ${paired.toFixed(4)}, U p = ${unpaired.toFixed(4)}`,
  );
  const significant = Math.min(paired, unpaired) < 0.001;
  return significant && Math.abs(shiftMs) >= RESOLVABLE_SHIFT_MS;
}

describe.each<Mode>(['twilio-messaging', 'twilio-verify'])('Silent sends (%s)', (mode) => {
  let fake: FakeTwilioServer;
  let service: TestApp;
  let client: AuthClient;
  let counter = 0;
  const prefix = mode === 'twilio-messaging' ? '2519170' : '2519171';
  const nextPhone = () => `+${prefix}${String((counter += 1)).padStart(5, '0')}`;

  beforeAll(async () => {
    fake = await startFakeTwilio();
    service = await startTestApp({
      env: {
        ...RELAXED_LIMITS,
        ...modeEnvironment(mode, fake),
        SMS_COUNTRY_LOCALES: 'ET:en',
        // Nine wrong guesses per verification, for the timing comparison.
        SMS_MAX_ATTEMPTS: '10',
      },
    });
    client = new AuthClient(service, fake);
  });
  afterAll(async () => {
    await service?.close();
    await fake?.stop();
  });

  it('answers with sids of one shape that carry no time and no order', async () => {
    const answers: { real: string[]; silent: string[] } = { real: [], silent: [] };
    for (let index = 0; index < 10; index += 1) {
      const withAccount = nextPhone();
      await createUser(service, { phoneNumber: withAccount });
      const real = await client.sendCode(withAccount, 'login').expect(200);
      const silent = await client.sendCode(nextPhone(), 'login').expect(200);
      answers.real.push(real.body.sid);
      answers.silent.push(silent.body.sid);
    }
    const sids = [...answers.real, ...answers.silent];
    for (const sid of sids) expect(sid).toMatch(/^VE[0-9a-f]{32}$/);
    // A time-ordered sid (UUIDv7) starts with the milliseconds it was made at.
    const now = Date.now();
    const dated = sids.filter((sid) => Math.abs(embeddedTimestamp(sid) - now) < 86_400_000);
    expect(dated).toEqual([]);
  });

  it('takes the same time to answer a send, delivered or not (no shift a client could resolve)', async () => {
    const timings: { real: number[]; silent: number[] } = { real: [], silent: [] };
    const timed = async (phoneNumber: string): Promise<number> => {
      // The work a send leaves for after its answer (and the fake Twilio's, in this process) is
      // done before the next is timed, so neither kind pays for the other's.
      await new Promise((resolve) => setTimeout(resolve, 15));
      const started = performance.now();
      await client.sendCode(phoneNumber, 'login').expect(200);
      return performance.now() - started;
    };
    for (let round = 0; round < 220; round += 1) {
      const withAccount = nextPhone();
      const without = nextPhone();
      await createUser(service, { phoneNumber: withAccount });
      if (round % 2 === 0) {
        timings.real.push(await timed(withAccount));
        timings.silent.push(await timed(without));
      } else {
        timings.silent.push(await timed(without));
        timings.real.push(await timed(withAccount));
      }
    }
    expect(resolvableShift(`${mode} send`, timings.real.slice(20), timings.silent.slice(20))).toBe(
      false,
    );
  }, 120_000);

  if (mode === 'twilio-messaging') {
    it('takes the same time to refuse a wrong code, delivered or not (no shift a client could resolve)', async () => {
      /** A number with an account and one without, each with a live login verification. */
      const pairOfVerifications = async () => {
        const withAccount = nextPhone();
        const without = nextPhone();
        await createUser(service, { phoneNumber: withAccount });
        await client.sendCode(withAccount, 'login').expect(200);
        await client.sendCode(without, 'login').expect(200);
        expect(fake.messages.filter((message) => message.to === without)).toHaveLength(0);
        return { withAccount, without };
      };
      const timings: { real: number[]; silent: number[] } = { real: [], silent: [] };
      const check = async (phoneNumber: string): Promise<number> => {
        const started = performance.now();
        await client
          .post('/sms/verify-code', { phoneNumber, code: '000000', purpose: 'login' })
          .expect(200);
        return performance.now() - started;
      };
      let pair = await pairOfVerifications();
      for (let round = 0; round < 420; round += 1) {
        if (round > 0 && round % 9 === 0) pair = await pairOfVerifications();
        // Alternating which goes first, so neither always meets a warmer process.
        if (round % 2 === 0) {
          timings.real.push(await check(pair.withAccount));
          timings.silent.push(await check(pair.without));
        } else {
          timings.silent.push(await check(pair.without));
          timings.real.push(await check(pair.withAccount));
        }
      }
      // The first rounds warm the process up; each later round is one back-to-back pair.
      expect(resolvableShift('wrong code', timings.real.slice(10), timings.silent.slice(10))).toBe(
        false,
      );
    }, 120_000);
  }

  if (mode === 'twilio-verify') {
    it('never lets a code sent for one purpose approve another purpose', async () => {
      const phoneNumber = nextPhone();
      await createUser(service, { phoneNumber });

      await client.sendCode(phoneNumber, 'login').expect(200);
      const loginCode = fake.codeFor(phoneNumber)!;
      // Twilio keeps one pending verification per number: this sends the login code again.
      await client.sendCode(phoneNumber, 'password_reset').expect(200);

      // The login verification is over: its code proves nothing for login any more…
      await client
        .post('/sms/verify-code', { phoneNumber, code: loginCode, purpose: 'login' })
        .expect(404);
      // …and a code asked for login later is not the reset's either.
      await client.sendCode(phoneNumber, 'login').expect(200);
      const resetAttempt = await client.post('/sms/verify-code', {
        phoneNumber,
        code: fake.codeFor(phoneNumber)!,
        purpose: 'password_reset',
      });
      expect(resetAttempt.status).toBe(404);
      const login = await client
        .post('/sms/verify-code', {
          phoneNumber,
          code: fake.codeFor(phoneNumber)!,
          purpose: 'login',
        })
        .expect(200);
      expect(login.body.status).toBe('approved');
    });

    it('checks each code against its own verification at Twilio, never the number’s latest', async () => {
      const phoneNumber = nextPhone();
      await createUser(service, { phoneNumber });
      await client.sendCode(phoneNumber, 'two_factor').expect(200);
      const first = fake.verifications.filter((v) => v.to === phoneNumber).at(-1)!;
      // Twilio's verification ends on its side (its own expiry); ours has not noticed yet.
      (first as { status: string }).status = 'expired';
      await client.sendCode(phoneNumber, 'login').expect(200);

      const answer = await client.post('/sms/verify-code', {
        phoneNumber,
        code: fake.codeFor(phoneNumber)!,
        purpose: 'two_factor',
      });
      expect(answer.status).toBe(404);
    });
  }
});
