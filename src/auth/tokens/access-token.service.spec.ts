import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { createHmac } from 'node:crypto';
import { Clock } from '../../common/clock';
import { Configuration } from '../../config/configuration';
import { loadConfiguration } from '../../config/load-configuration';
import { AccessTokenService } from './access-token.service';

class ManualClock extends Clock {
  constructor(private current: number) {
    super();
  }
  now(): Date {
    return new Date(this.current);
  }
  advance(milliseconds: number): void {
    this.current += milliseconds;
  }
}

const SECRET = 'unit-test-jwt-secret-0123456789abcdef0123';

function serviceWith(
  clock: Clock,
  environment: Record<string, string> = {},
): { tokens: AccessTokenService; configuration: Configuration } {
  const configuration = loadConfiguration({ JWT_SECRET: SECRET, ...environment });
  const config = { get: (key: keyof Configuration) => configuration[key] };
  return {
    tokens: new AccessTokenService(
      new JwtService(),
      clock,
      config as unknown as ConfigService<Configuration, true>,
    ),
    configuration,
  };
}

function decode(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

/** A token signed by hand, to show what the service refuses. */
function handMade(header: object, payload: object, secret = SECRET): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const unsigned = `${encode(header)}.${encode(payload)}`;
  const signature = createHmac('sha256', secret).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

describe('AccessTokenService', () => {
  const subject = { userId: '3f0c2a9e-8b1d-4c7e-9a55-2d4b6e8f1a03', tokenVersion: 4 };
  const session = { ...subject, sessionId: '0f5e6a51-6f0c-4f6e-9b1a-2b8f1f6c9d3e' };
  let clock: ManualClock;
  let tokens: AccessTokenService;

  beforeEach(() => {
    clock = new ManualClock(Date.UTC(2026, 0, 1));
    tokens = serviceWith(clock).tokens;
  });

  it('signs an HS256 access token with subject, version, session, type, issuer and audience', () => {
    const { token, expiresIn } = tokens.signAccess(session);
    expect(expiresIn).toBe(900);
    expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())).toEqual({
      alg: 'HS256',
      typ: 'JWT',
    });
    const iat = Date.UTC(2026, 0, 1) / 1000;
    expect(decode(token)).toEqual({
      sub: subject.userId,
      ver: 4,
      typ: 'access',
      sid: session.sessionId,
      iat,
      exp: iat + 900,
      iss: 'sms-verification-service',
      aud: 'sms-verification-api',
    });
    expect(tokens.verifyAccess(token)).toEqual(session);
  });

  it('expires access tokens after JWT_ACCESS_TTL_SECONDS on the injected clock', () => {
    const { token } = tokens.signAccess(session);
    clock.advance(899_000);
    expect(tokens.verifyAccess(token)).toEqual(session);
    clock.advance(2_000);
    expect(tokens.verifyAccess(token)).toBeUndefined();
  });

  it('keeps two-factor challenges and access tokens apart', () => {
    const challenge = tokens.signTwoFactor(subject);
    expect(challenge.expiresIn).toBe(300);
    expect(tokens.verifyAccess(challenge.token)).toBeUndefined();
    expect(tokens.verifyTwoFactor(challenge.token)).toEqual(subject);
    expect(tokens.verifyTwoFactor(tokens.signAccess(session).token)).toBeUndefined();
    clock.advance(301_000);
    expect(tokens.verifyTwoFactor(challenge.token)).toBeUndefined();
  });

  it('refuses tokens signed with another key', () => {
    const other = serviceWith(clock, { JWT_SECRET: 'another-unit-test-jwt-secret-0123456789' });
    expect(tokens.verifyAccess(other.tokens.signAccess(session).token)).toBeUndefined();
  });

  it('refuses unsigned tokens and other algorithms', () => {
    const now = Math.floor(clock.now().getTime() / 1000);
    const claims = {
      sub: subject.userId,
      ver: 4,
      typ: 'access',
      sid: session.sessionId,
      iat: now,
      exp: now + 60,
      iss: 'sms-verification-service',
      aud: 'sms-verification-api',
    };
    const unsigned = handMade({ alg: 'none', typ: 'JWT' }, claims).split('.').slice(0, 2).join('.');
    expect(tokens.verifyAccess(`${unsigned}.`)).toBeUndefined();
    expect(tokens.verifyAccess(handMade({ alg: 'HS512', typ: 'JWT' }, claims))).toBeUndefined();
    // The same claims, signed correctly, pass: the refusals above are about the algorithm.
    expect(tokens.verifyAccess(handMade({ alg: 'HS256', typ: 'JWT' }, claims))).toEqual(session);
  });

  it('refuses another issuer or audience, and claims of the wrong shape', () => {
    const now = Math.floor(clock.now().getTime() / 1000);
    const base = {
      sub: subject.userId,
      ver: 4,
      typ: 'access',
      sid: session.sessionId,
      iat: now,
      exp: now + 60,
      iss: 'sms-verification-service',
      aud: 'sms-verification-api',
    };
    const header = { alg: 'HS256', typ: 'JWT' };
    expect(tokens.verifyAccess(handMade(header, { ...base, iss: 'someone-else' }))).toBeUndefined();
    expect(tokens.verifyAccess(handMade(header, { ...base, aud: 'another-api' }))).toBeUndefined();
    expect(tokens.verifyAccess(handMade(header, { ...base, ver: '4' }))).toBeUndefined();
    expect(tokens.verifyAccess(handMade(header, { ...base, sub: 42 }))).toBeUndefined();
    expect(tokens.verifyAccess(handMade(header, { ...base, typ: undefined }))).toBeUndefined();
    // An access token without its session could not be revoked by a logout.
    expect(tokens.verifyAccess(handMade(header, { ...base, sid: undefined }))).toBeUndefined();
    expect(tokens.verifyAccess(handMade(header, base))).toEqual(session);
  });

  it('answers undefined for garbage', () => {
    expect(tokens.verifyAccess('')).toBeUndefined();
    expect(tokens.verifyAccess('not.a.jwt')).toBeUndefined();
  });
});
