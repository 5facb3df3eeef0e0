import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { Clock } from '../../common/clock';
import { Configuration } from '../../config/configuration';
import { JwtConfig } from '../auth.config';
import type { SessionClaims } from './session-revocations';

/** Who a token speaks for: the user, and the token version it was issued under. */
export interface TokenSubject {
  userId: string;
  tokenVersion: number;
}

export interface SignedToken {
  token: string;
  /** Seconds until it expires. */
  expiresIn: number;
}

/** `access`: a session; `2fa`: a password that was right, waiting for its SMS step. */
type TokenType = 'access' | '2fa';

interface Claims {
  sub: string;
  ver: number;
  typ: TokenType;
  /** Access tokens only: the session (refresh-token family), so a logout can end it at once. */
  sid?: string;
}

const ALGORITHM = 'HS256';

/**
 * Short-lived JWTs (RFC 7519) signed with JWT_SECRET. Every option is given on each call, so a
 * token is only ever checked with HS256, our issuer and audience, and its own type: a two-factor
 * token is never an access token. Time comes from the injected clock.
 */
@Injectable()
export class AccessTokenService {
  private readonly config: JwtConfig;

  constructor(
    private readonly jwt: JwtService,
    private readonly clock: Clock,
    config: ConfigService<Configuration, true>,
  ) {
    this.config = config.get('auth', { infer: true }).jwt;
  }

  signAccess(session: SessionClaims): SignedToken {
    return this.sign(session, 'access', this.config.accessTtlSeconds, session.sessionId);
  }

  signTwoFactor(subject: TokenSubject): SignedToken {
    return this.sign(subject, '2fa', this.config.twoFactorTtlSeconds);
  }

  /** The session of a valid access token; undefined for anything else. */
  verifyAccess(token: string): SessionClaims | undefined {
    const claims = this.verify(token, 'access');
    if (!claims || typeof claims.sid !== 'string') return undefined;
    return { ...subjectOf(claims), sessionId: claims.sid };
  }

  verifyTwoFactor(token: string): TokenSubject | undefined {
    const claims = this.verify(token, '2fa');
    return claims && subjectOf(claims);
  }

  private sign(
    subject: TokenSubject,
    type: TokenType,
    ttlSeconds: number,
    sessionId?: string,
  ): SignedToken {
    const claims: Claims & { iat: number } = {
      sub: subject.userId,
      ver: subject.tokenVersion,
      typ: type,
      ...(sessionId === undefined ? {} : { sid: sessionId }),
      iat: this.nowSeconds(),
    };
    const token = this.jwt.sign(claims, {
      secret: this.config.secret,
      algorithm: ALGORITHM,
      issuer: this.config.issuer,
      audience: this.config.audience,
      expiresIn: ttlSeconds,
    });
    return { token, expiresIn: ttlSeconds };
  }

  private verify(token: string, type: TokenType): (Claims & { ver: number }) | undefined {
    let claims: Partial<Claims>;
    try {
      claims = this.jwt.verify<Partial<Claims>>(token, {
        secret: this.config.secret,
        algorithms: [ALGORITHM],
        issuer: this.config.issuer,
        audience: this.config.audience,
        clockTimestamp: this.nowSeconds(),
      });
    } catch {
      return undefined;
    }
    if (claims.typ !== type || typeof claims.sub !== 'string' || !Number.isInteger(claims.ver)) {
      return undefined;
    }
    return claims as Claims & { ver: number };
  }

  private nowSeconds(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }
}

function subjectOf(claims: Claims): TokenSubject {
  return { userId: claims.sub, tokenVersion: claims.ver };
}
