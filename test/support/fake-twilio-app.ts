import { FakeTwilioServer, FakeTwilioOptions } from '../fakes/fake-twilio-server';
import { RELAXED_LIMITS } from './relaxed-limits';
import { TEST_TWILIO } from './twilio-test-credentials';

/** A fake Twilio that accepts the test credentials. */
export function startFakeTwilio(
  options: Omit<FakeTwilioOptions, 'accountSid' | 'authToken'> = {},
): Promise<FakeTwilioServer> {
  return FakeTwilioServer.start({
    accountSid: TEST_TWILIO.accountSid,
    authToken: TEST_TWILIO.authToken,
    ...options,
  });
}

/**
 * The app sending our own texts through Twilio Messaging on the fake, with limits out of the way
 * and callbacks signed for https://sms.example.com; `extra` adds or overrides variables.
 */
export function messagingEnv(
  fake: FakeTwilioServer,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...RELAXED_LIMITS,
    SMS_PROVIDER: 'twilio-messaging',
    TWILIO_ACCOUNT_SID: TEST_TWILIO.accountSid,
    TWILIO_AUTH_TOKEN: TEST_TWILIO.authToken,
    TWILIO_FROM: 'Brand',
    TWILIO_API_BASE_URL: fake.url,
    PUBLIC_BASE_URL: 'https://sms.example.com',
    ...extra,
  };
}
