import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../common/clock';
import { Hasher } from '../common/hasher';
import { Configuration } from '../config/configuration';
import { NormalizedPhone, PhoneService } from '../phone/phone.service';
import { RateLimitService } from '../sms/abuse/rate-limit.service';
import { SmsNotifier } from '../sms/notifications/sms-notifier';
import { InvalidProofError } from '../sms/sms.errors';
import { CodeChecker } from '../sms/code-checker';
import { AuthConfig } from './auth.config';
import {
  InvalidCredentialsError,
  InvalidTwoFactorTokenError,
  PasswordLoginRequiredError,
  PasswordTooWeakError,
  PhoneChangeFailedError,
  PhoneNotVerifiedError,
  RegistrationFailedError,
  SamePhoneNumberError,
  UnauthorizedError,
} from './auth.errors';
import { TokensResponseDto, TwoFactorChallengeDto, UserDto } from './dto/auth-responses.dto';
import { PasswordHasher } from './password/password-hasher';
import { PasswordPolicy } from './password/password-policy';
import { AccessTokenService, TokenSubject } from './tokens/access-token.service';
import { SessionClaims, SessionRevocations } from './tokens/session-revocations';
import { RefreshTokenService } from './tokens/refresh-token.service';
import { UserRecord, UserRepository } from './user.repository';

/** SMS proof as the endpoints take it: the code, or the token /sms/verify-code handed out. */
export interface SmsProof {
  code?: string;
  verificationToken?: string;
}

export interface PhoneInput {
  phoneNumber: string;
  countryCode?: string;
}

/** Where a request came from, for the per-IP limits. */
export interface RequestOrigin {
  clientIp: string;
}

/**
 * The auth flows on top of SMS verification. Every failure that could tell whether a number has
 * an account answers like any other failure: INVALID_CREDENTIALS for passwords, INVALID_CODE for
 * SMS proofs (docs/SECURITY.md rule 7).
 */
@Injectable()
export class AuthService {
  /** Security events by account id; never a number, password, code or token. */
  private readonly logger = new Logger('Auth');
  private readonly config: AuthConfig;

  constructor(
    private readonly users: UserRepository,
    private readonly accessTokens: AccessTokenService,
    private readonly refreshTokens: RefreshTokenService,
    private readonly passwords: PasswordHasher,
    private readonly policy: PasswordPolicy,
    private readonly codes: CodeChecker,
    private readonly phones: PhoneService,
    private readonly limits: RateLimitService,
    private readonly notifier: SmsNotifier,
    private readonly revocations: SessionRevocations,
    private readonly hasher: Hasher,
    private readonly clock: Clock,
    config: ConfigService<Configuration, true>,
  ) {
    this.config = config.get('auth', { infer: true });
  }

  /** A new account with a verified phone (proof for `registration`). */
  async register(
    input: PhoneInput & SmsProof & RequestOrigin & { password: string },
  ): Promise<TokensResponseDto> {
    const phone = this.phones.normalize(input.phoneNumber, input.countryCode);
    // Before the proof is spent: a refused password should not cost the user their code.
    this.assertAcceptablePassword(input.password, phone);
    await this.prove(phone, 'registration', input);
    const created = await this.users.create({
      phoneNumber: phone.e164,
      phoneNumberHash: this.phoneHash(phone),
      passwordHash: await this.passwords.hash(input.password),
      now: this.clock.now(),
    });
    // Registration codes are not delivered to numbers with an account, so only the holder of
    // the number (or a race with another registration) gets here.
    if (!created) throw new RegistrationFailedError();
    return this.startSession(created);
  }

  /** Password login: a session, or a two-factor challenge when the account has 2FA on. */
  async login(
    input: PhoneInput & RequestOrigin & { password: string },
  ): Promise<TokensResponseDto | TwoFactorChallengeDto> {
    const phone = this.phones.normalize(input.phoneNumber, input.countryCode);
    const attempt = this.limits.guessAttempt(phone.e164, input.clientIp);
    await this.limits.consumePassword(attempt, this.config.passwordAttempts);
    const user = await this.users.findByPhoneHash(this.phoneHash(phone));
    // Unknown numbers are checked against a dummy hash: same work, same time, same answer.
    const valid = await this.passwords.verify(user?.passwordHash, input.password);
    if (!user || !valid) throw new InvalidCredentialsError();
    await this.limits.clearPassword(attempt, 'client');
    if (user.twoFactorEnabled) {
      const challenge = this.accessTokens.signTwoFactor(subjectOf(user));
      return { twoFactorRequired: true, twoFactorToken: challenge.token };
    }
    return this.startSession(user);
  }

  /** The SMS step of a 2FA login (proof for `two_factor` to the account's number). */
  async completeTwoFactorLogin(
    input: SmsProof & RequestOrigin & { twoFactorToken: string },
  ): Promise<TokensResponseDto> {
    const subject = this.accessTokens.verifyTwoFactor(input.twoFactorToken);
    const user = subject ? await this.users.findById(subject.userId) : undefined;
    if (!subject || !user || user.tokenVersion !== subject.tokenVersion || !user.twoFactorEnabled) {
      throw new InvalidTwoFactorTokenError();
    }
    await this.codes.prove({
      e164: user.phoneNumber,
      purpose: 'two_factor',
      code: input.code,
      verificationToken: input.verificationToken,
      clientIp: input.clientIp,
    });
    return this.startSession(user);
  }

  /** Login by SMS alone (proof for `login`). */
  async loginWithSms(input: PhoneInput & SmsProof & RequestOrigin): Promise<TokensResponseDto> {
    const phone = this.phones.normalize(input.phoneNumber, input.countryCode);
    await this.prove(phone, 'login', input);
    const user = await this.users.findByPhoneHash(this.phoneHash(phone));
    // Login codes are not delivered to numbers without an account; a test number can get here.
    if (!user) throw new InvalidProofError();
    if (user.twoFactorEnabled) throw new PasswordLoginRequiredError();
    return this.startSession(user);
  }

  /**
   * A new password by SMS (proof for `password_reset`). Every session ends and the owner is told
   * by SMS (docs/SECURITY.md rule 13).
   */
  async resetPasswordWithSms(
    input: PhoneInput & SmsProof & RequestOrigin & { newPassword: string },
  ): Promise<void> {
    const phone = this.phones.normalize(input.phoneNumber, input.countryCode);
    this.assertAcceptablePassword(input.newPassword, phone);
    await this.prove(phone, 'password_reset', input);
    const user = await this.users.findByPhoneHash(this.phoneHash(phone));
    if (!user) throw new InvalidProofError();
    const updated = await this.users.resetPassword(
      user.id,
      await this.passwords.hash(input.newPassword),
      this.clock.now(),
    );
    if (!updated) throw new InvalidProofError();
    await this.refreshTokens.revokeAllOf(user.id);
    await this.revocations.revokeVersionsBelow(user.id, updated.tokenVersion);
    await this.limits.clearPassword(
      this.limits.guessAttempt(phone.e164, input.clientIp),
      'new-password',
    );
    this.logger.log({ userId: user.id }, 'password reset by SMS; every session ended');
    await this.notifier.notify(phone.e164, 'password_changed');
  }

  async refresh(refreshToken: string): Promise<TokensResponseDto> {
    const rotated = await this.refreshTokens.rotate(refreshToken);
    const user = await this.users.findById(rotated.subject.userId);
    if (!user) throw new UnauthorizedError('invalid');
    return this.session(
      user,
      { ...rotated.subject, sessionId: rotated.sessionId },
      rotated.refreshToken,
    );
  }

  async logout(refreshToken: string): Promise<void> {
    await this.refreshTokens.revokeFamilyOf(refreshToken);
  }

  async me(subject: TokenSubject): Promise<UserDto> {
    return toUserDto(await this.currentUser(subject));
  }

  /** Turns SMS 2FA on or off; either way with a fresh `two_factor` proof. */
  async setTwoFactor(
    subject: TokenSubject,
    enabled: boolean,
    input: SmsProof & RequestOrigin,
  ): Promise<UserDto> {
    const user = await this.currentUser(subject);
    // SMS as a second factor only to a number already verified (docs/SECURITY.md rule 12).
    if (enabled && !user.phoneVerifiedAt) throw new PhoneNotVerifiedError();
    await this.codes.prove({
      e164: user.phoneNumber,
      purpose: 'two_factor',
      code: input.code,
      verificationToken: input.verificationToken,
      clientIp: input.clientIp,
    });
    const updated = await this.users.setTwoFactor(user.id, enabled, this.clock.now());
    if (!updated) throw new UnauthorizedError('invalid');
    this.logger.log({ userId: user.id, enabled }, 'two-factor login changed');
    return toUserDto(updated);
  }

  /**
   * A new phone number (docs/SECURITY.md rule 11): current authentication, proof of the new number,
   * then every other session ends and the old number is told. Answers a new session.
   */
  async changePhone(
    subject: TokenSubject,
    input: SmsProof &
      RequestOrigin & {
        newPhoneNumber: string;
        countryCode?: string;
        currentPassword?: string;
        currentCode?: string;
        currentVerificationToken?: string;
      },
  ): Promise<TokensResponseDto> {
    const user = await this.currentUser(subject);
    const newPhone = this.phones.normalize(input.newPhoneNumber, input.countryCode);
    if (newPhone.e164 === user.phoneNumber) throw new SamePhoneNumberError();

    if (input.currentPassword !== undefined) {
      const attempt = this.limits.guessAttempt(user.phoneNumber, input.clientIp);
      await this.limits.consumePassword(attempt, this.config.passwordAttempts);
      if (!(await this.passwords.verify(user.passwordHash, input.currentPassword))) {
        throw new InvalidCredentialsError();
      }
      await this.limits.clearPassword(attempt, 'client');
    } else {
      await this.codes.prove({
        e164: user.phoneNumber,
        purpose: 'two_factor',
        code: input.currentCode,
        verificationToken: input.currentVerificationToken,
        clientIp: input.clientIp,
      });
    }
    // `registration`: codes for it only reach numbers that are on no account.
    await this.prove(newPhone, 'registration', input);

    const changed = await this.users.changePhone(
      user.id,
      user.tokenVersion,
      { phoneNumber: newPhone.e164, phoneNumberHash: this.phoneHash(newPhone) },
      this.clock.now(),
    );
    if (changed === 'taken') throw new PhoneChangeFailedError();
    if (!changed) throw new UnauthorizedError('invalid');
    await this.refreshTokens.revokeAllOf(user.id);
    await this.revocations.revokeVersionsBelow(user.id, changed.tokenVersion);
    this.logger.log({ userId: user.id }, 'phone number changed; other sessions ended');
    await this.notifier.notify(user.phoneNumber, 'phone_changed');
    return this.startSession(changed);
  }

  private async currentUser(subject: TokenSubject): Promise<UserRecord> {
    const user = await this.users.findById(subject.userId);
    if (!user || user.tokenVersion !== subject.tokenVersion) throw new UnauthorizedError('invalid');
    return user;
  }

  private assertAcceptablePassword(password: string, phone: NormalizedPhone): void {
    const broken = this.policy.check(password, { e164: phone.e164 });
    if (broken) throw new PasswordTooWeakError(broken);
  }

  private prove(
    phone: NormalizedPhone,
    purpose: 'registration' | 'login' | 'password_reset',
    input: SmsProof & RequestOrigin,
  ): Promise<void> {
    return this.codes.prove({
      e164: phone.e164,
      purpose,
      code: input.code,
      verificationToken: input.verificationToken,
      clientIp: input.clientIp,
    });
  }

  private async startSession(user: UserRecord): Promise<TokensResponseDto> {
    const subject = subjectOf(user);
    const { refreshToken, sessionId } = await this.refreshTokens.issue(subject);
    return this.session(user, { ...subject, sessionId }, refreshToken);
  }

  private session(
    user: UserRecord,
    session: SessionClaims,
    refreshToken: string,
  ): TokensResponseDto {
    const access = this.accessTokens.signAccess(session);
    return {
      accessToken: access.token,
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: access.expiresIn,
      user: toUserDto(user),
    };
  }

  private phoneHash(phone: NormalizedPhone): string {
    return this.hasher.hash('phone', phone.e164);
  }
}

function subjectOf(user: UserRecord): TokenSubject {
  return { userId: user.id, tokenVersion: user.tokenVersion };
}

function toUserDto(user: UserRecord): UserDto {
  return {
    id: user.id,
    phoneNumber: user.phoneNumber,
    phoneVerifiedAt: user.phoneVerifiedAt?.toISOString() ?? null,
    twoFactorEnabled: user.twoFactorEnabled,
  };
}
