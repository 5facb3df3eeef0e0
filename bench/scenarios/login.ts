import { Context } from '../context';
import { CONNECTIONS, LOGIN_USERS, RANGE } from '../settings';
import { AppProcess } from '../support/app.process';
import { FakeTwilioProcess } from '../support/fake-twilio.process';
import { ScenarioResult } from '../support/report';
import { ethiopianMobiles, seedUsers } from '../support/seed';
import { runScenario } from './run-scenario';
import { sendLoad } from './sends';

/** Codes the fake Twilio delivered, by destination (the newest per number). */
export async function deliveredCodes(fake: FakeTwilioProcess): Promise<Map<string, string>> {
  const codes = new Map<string, string>();
  for (const message of await fake.messages()) {
    const code = /\d{6}/.exec(message.body)?.[0];
    if (code) codes.set(message.to, code);
  }
  return codes;
}

export async function loginScenarios(
  context: Context,
  app: AppProcess,
): Promise<ScenarioResult[] | undefined> {
  const probe = await fetch(`${app.url}/auth/login-sms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  await probe.arrayBuffer();
  if (probe.status === 404) return undefined;

  const users = ethiopianMobiles(RANGE.users, LOGIN_USERS);
  await seedUsers(context.monitor, context.hasher, users);
  await context.fake.reset();
  let sendIndex = 0;
  const sendResult = await runScenario(context, {
    id: '5a',
    name: 'login-sms end to end: send login codes to registered users',
    app,
    connections: CONNECTIONS,
    expectedStatuses: [200],
    load: {
      ...sendLoad(() => ({ phoneNumber: users[sendIndex++ % users.length], purpose: 'login' })),
      durationSeconds: undefined,
      amount: users.length,
    },
  });
  const codes = await deliveredCodes(context.fake);
  const ready = users.filter((user) => codes.has(user));
  let loginIndex = 0;
  const loginResult = await runScenario(context, {
    id: '5b',
    name: 'login-sms end to end: POST /auth/login-sms with the delivered codes',
    app,
    connections: CONNECTIONS,
    expectedStatuses: [200],
    load: {
      method: 'POST',
      path: '/auth/login-sms',
      connections: CONNECTIONS,
      amount: ready.length,
      body: () => {
        const phoneNumber = ready[loginIndex++ % ready.length];
        return { phoneNumber, code: codes.get(phoneNumber) };
      },
    },
    note: `${ready.length} of ${users.length} login codes were delivered`,
  });
  return [sendResult, loginResult];
}
