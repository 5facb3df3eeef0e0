import supertest from 'supertest';
import { Purpose } from '../../src/common/purpose';
import { FakeTwilioServer } from '../fakes/fake-twilio-server';
import { TestApp } from './test-app';
import { TEST_TWILIO } from './twilio-test-credentials';

export const TEST_JWT_SECRET = 'test-jwt-secret-fedcba9876543210fedcba98765';

/**
 * The app on the fake Twilio's Messages API (our own codes, readable from the fake's messages),
 * with pumping holds off: these suites send many codes that are never verified on purpose.
 */
export function authTestEnvironment(fake: FakeTwilioServer): Record<string, string> {
  return {
    SMS_PROVIDER: 'twilio-messaging',
    TWILIO_ACCOUNT_SID: TEST_TWILIO.accountSid,
    TWILIO_AUTH_TOKEN: TEST_TWILIO.authToken,
    TWILIO_MESSAGING_SERVICE_SID: TEST_TWILIO.messagingServiceSid,
    TWILIO_API_BASE_URL: fake.url,
    TWILIO_TIMEOUT_MS: '2000',
    SMS_PUMPING_MODE: 'off',
    JWT_SECRET: TEST_JWT_SECRET,
  };
}

/** authTestEnvironment, but codes go out through Twilio Verify instead of the Messages API. */
export function authVerifyTestEnvironment(fake: FakeTwilioServer): Record<string, string> {
  const messagingOnly = new Set(['TWILIO_MESSAGING_SERVICE_SID', 'SMS_PROVIDER']);
  const shared = Object.entries(authTestEnvironment(fake)).filter(
    ([name]) => !messagingOnly.has(name),
  );
  return {
    ...Object.fromEntries(shared),
    SMS_PROVIDER: 'twilio-verify',
    TWILIO_VERIFY_SERVICE_SID: TEST_TWILIO.verifyServiceSid,
  };
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  user: {
    id: string;
    phoneNumber: string;
    phoneVerifiedAt: string | null;
    twoFactorEnabled: boolean;
  };
}

/** What a user of the SPA does over HTTP: ask for codes, read them from their phone, use them. */
export class AuthClient {
  constructor(
    private readonly service: TestApp,
    private readonly fake: FakeTwilioServer,
  ) {}

  http(): supertest.Agent {
    return this.service.http();
  }

  post(path: string, body: object, accessToken?: string): supertest.Test {
    const request = this.http().post(path).send(body);
    return accessToken ? request.set('Authorization', `Bearer ${accessToken}`) : request;
  }

  get(path: string, accessToken?: string): supertest.Test {
    const request = this.http().get(path);
    return accessToken ? request.set('Authorization', `Bearer ${accessToken}`) : request;
  }

  sendCode(phoneNumber: string, purpose: Purpose): supertest.Test {
    return this.post('/sms/send-verification', { phoneNumber, purpose, locale: 'en' });
  }

  /** Asks for a code and reads it from the SMS the fake Twilio received. */
  async code(phoneNumber: string, purpose: Purpose): Promise<string> {
    const before = this.messagesTo(phoneNumber).length;
    await this.sendCode(phoneNumber, purpose).expect(200);
    const messages = this.messagesTo(phoneNumber);
    if (messages.length !== before + 1) throw new Error(`no ${purpose} SMS was delivered`);
    const match = /(\d{6})/.exec(messages.at(-1)!.body);
    if (!match) throw new Error(`no code in "${messages.at(-1)!.body}"`);
    return match[1];
  }

  /** A code traded at /sms/verify-code for its verification_token. */
  async verificationToken(phoneNumber: string, purpose: Purpose): Promise<string> {
    const code = await this.code(phoneNumber, purpose);
    const approved = await this.post('/sms/verify-code', { phoneNumber, code, purpose }).expect(
      200,
    );
    return approved.body.verification_token as string;
  }

  messagesTo(phoneNumber: string): { body: string }[] {
    return this.fake.messages.filter((message) => message.to === phoneNumber);
  }

  async register(phoneNumber: string, password: string): Promise<Session> {
    const code = await this.code(phoneNumber, 'registration');
    const response = await this.post('/auth/register', { phoneNumber, password, code }).expect(200);
    return response.body as Session;
  }

  async loginWithSms(phoneNumber: string): Promise<Session> {
    const code = await this.code(phoneNumber, 'login');
    const response = await this.post('/auth/login-sms', { phoneNumber, code }).expect(200);
    return response.body as Session;
  }

  async enableTwoFactor(session: Session): Promise<void> {
    const code = await this.code(session.user.phoneNumber, 'two_factor');
    await this.post('/auth/2fa/enable', { code }, session.accessToken).expect(200);
  }
}
