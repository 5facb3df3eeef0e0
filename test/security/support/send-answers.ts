import supertest from 'supertest';
import { FakeTwilioServer } from '../../fakes/fake-twilio-server';
import { TestApp } from '../../support/test-app';
import { headerNames, shapeOf } from './http';

/** A send from `address`, as a trusted proxy reports it (X-Forwarded-For). */
export function sendFrom(service: TestApp, address: string, phoneNumber: string, purpose: string) {
  return service
    .http()
    .post('/sms/send-verification')
    .set('X-Forwarded-For', address)
    .send({ phoneNumber, purpose, locale: 'en' });
}

/** How many messages the fake Twilio took for this number. */
export function delivered(fake: FakeTwilioServer, phoneNumber: string): number {
  return fake.messages.filter((message) => message.to === phoneNumber).length;
}

const WHOLE_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/**
 * What a client can compare between two send answers without their values: status, body shape,
 * the format of each identifier and date (Twilio writes whole seconds), the values that must not
 * differ, and the headers.
 */
export function answerOf(response: supertest.Response) {
  const body = response.body as Record<string, unknown>;
  return {
    status: response.status,
    shape: shapeOf(body),
    formats: {
      account_sid: /^AC[0-9a-f]{32}$/.test(String(body.account_sid)),
      sid: /^VE[0-9a-f]{32}$/.test(String(body.sid)),
      service_sid: /^MG[0-9a-f]{32}$/.test(String(body.service_sid)),
      to: /^\+\d{10,15}$/.test(String(body.to)),
      date_created: WHOLE_SECONDS.test(String(body.date_created)),
      date_updated: WHOLE_SECONDS.test(String(body.date_updated)),
    },
    values: { channel: body.channel, status: body.status, valid: body.valid },
    headerNames: headerNames(response),
    headers: {
      'content-type': response.headers['content-type'],
      'content-length': response.headers['content-length'],
      'ratelimit-limit': response.headers['ratelimit-limit'],
      'ratelimit-remaining': /^\d+$/.test(response.headers['ratelimit-remaining'] ?? ''),
      'ratelimit-reset': /^\d+$/.test(response.headers['ratelimit-reset'] ?? ''),
    },
  };
}

/** answerOf(…).formats of a well-formed answer. */
export const ALL_FORMATS_RIGHT = {
  account_sid: true,
  sid: true,
  service_sid: true,
  to: true,
  date_created: true,
  date_updated: true,
};
