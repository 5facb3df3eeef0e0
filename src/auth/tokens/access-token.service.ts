import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import { Clock } from '../../common/clock';
import { Configuration } from '../../config/configuration';
import { JwtConfig } from '../auth.config';

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

  signAccess(subject: TokenSubject): SignedToken {
    return this.sign(subject, 'access', this.config.accessTtlSeconds);
  }

  signTwoFactor(subject: TokenSubject): SignedToken {
    return this.sign(subject, '2fa', this.config.twoFactorTtlSeconds);
  }

  /** The subject of a valid access token; undefined for anything else. */
  verifyAccess(token: string): TokenSubject | undefined {
    return this.verify(token, 'access');
  }

  verifyTwoFactor(token: string): TokenSubject | undefined {
    return this.verify(token, '2fa');
  }

  private sign(subject: TokenSubject, type: TokenType, ttlSeconds: number): SignedToken {
    const claims: Claims & { iat: number } = {
      sub: subject.userId,
      ver: subject.tokenVersion,
      typ: type,
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

  private verify(token: string, type: TokenType): TokenSubject | undefined {
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
    return { userId: claims.sub, tokenVersion: claims.ver! };
  }

  private nowSeconds(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }
}
