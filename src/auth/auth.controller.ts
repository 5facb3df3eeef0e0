import { Body, Controller, Get, HttpCode, Ip, Post, UseInterceptors } from '@nestjs/common';
import {
  ApiBody,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { ApiErrorResponse } from '../common/errors/api-error-response.decorator';
import { RequestValidationError, ServiceUnavailableError } from '../common/errors/product-error';
import { PhoneInvalidError } from '../phone/phone.errors';
import { RateLimitUnavailableError, RateLimitedError } from '../rate-limit/rate-limit.errors';
import { InvalidProofError } from '../sms/sms.errors';
import {
  InvalidCredentialsError,
  InvalidRefreshTokenError,
  InvalidTwoFactorTokenError,
  PasswordLoginRequiredError,
  PasswordTooWeakError,
  PhoneChangeFailedError,
  PhoneNotVerifiedError,
  SamePhoneNumberError,
} from './auth.errors';
import { ProofOutcomeInterceptor } from '../sms/proof-outcome.interceptor';
import { AuthService } from './auth.service';
import { Authenticated, CurrentUser } from './authenticated.decorator';
import {
  ChangePhoneDto,
  LoginDto,
  LoginSmsDto,
  LoginTwoFactorDto,
  RefreshTokenDto,
  RegisterDto,
  ResetPasswordSmsDto,
  TwoFactorChangeDto,
} from './dto/auth-requests.dto';
import { TokensResponseDto, TwoFactorChallengeDto, UserDto } from './dto/auth-responses.dto';
import { EXAMPLE_PASSWORD, EXAMPLE_PHONE } from './dto/phone-number.fields';
import { Public } from '../common/http/public.decorator';
import { TokenSubject } from './tokens/access-token.service';
import { ProductError } from '../common/errors/product-error';

const EXAMPLE_CODE = '123456';
const EXAMPLE_VERIFICATION_TOKEN = 'vt_paste-the-verification_token-from-verify-code';

/** Request examples for Swagger's "Try it out": one with the SMS code, one with its token. */
function proofExamples(
  rest: Record<string, unknown>,
  purpose: string,
): Record<string, { summary: string; value: Record<string, unknown> }> {
  return {
    code: {
      summary: `With the ${purpose} code from the SMS`,
      value: { ...rest, code: EXAMPLE_CODE },
    },
    verificationToken: {
      summary: `With the verification_token from /sms/verify-code (purpose ${purpose})`,
      value: { ...rest, verificationToken: EXAMPLE_VERIFICATION_TOKEN },
    },
  };
}

const INVALID_CODE =
  'INVALID_CODE: the SMS proof is wrong, expired, already used, or for another phone or purpose';
const INVALID_BODY = new RequestValidationError(['phoneNumber must be a string']);
const INVALID_NUMBER = new PhoneInvalidError('too_short', {
  maxLength: 32,
  example: EXAMPLE_PHONE,
  country: 'ET',
});

/** A body with a phone number: what validation and the number's own checks refuse. */
const InvalidBodyOrNumber = (...more: ProductError[]) =>
  ApiErrorResponse(
    'Invalid body or phone number' +
      (more.length > 0 ? `, or ${more.map((e) => e.code).join(', ')}` : ''),
    INVALID_BODY,
    INVALID_NUMBER,
    ...more,
  );

@ApiTags('auth')
@ApiExtraModels(TokensResponseDto, TwoFactorChallengeDto)
@ApiErrorResponse(
  'Too many code checks or wrong passwords for this phone or from this IP, or too many ' +
    'requests. `retryAfter` seconds and Retry-After.',
  new RateLimitedError('password-phone', 10, 734),
)
@ApiErrorResponse(
  'The database or the limit store is unavailable; nothing changed. `retryAfter` seconds.',
  new ServiceUnavailableError(),
  new RateLimitUnavailableError(undefined),
)
// An SMS code counts as verified only if the endpoint that took it answers success.
@UseInterceptors(ProofOutcomeInterceptor)
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create an account',
    description:
      'First `POST /sms/send-verification` with purpose `registration`, then send the code ' +
      '(or the verification_token of `/sms/verify-code`) here with a password. The phone is ' +
      'verified by that proof. Answers a session.',
  })
  @ApiBody({
    type: RegisterDto,
    examples: proofExamples(
      { phoneNumber: EXAMPLE_PHONE, password: EXAMPLE_PASSWORD },
      'registration',
    ),
  })
  @ApiOkResponse({ type: TokensResponseDto })
  @InvalidBodyOrNumber(new PasswordTooWeakError('common'))
  @ApiErrorResponse(INVALID_CODE, new InvalidProofError())
  register(@Body() body: RegisterDto, @Ip() clientIp: string): Promise<TokensResponseDto> {
    return this.auth.register({ ...body, clientIp });
  }

  @Post('login')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Log in with phone and password',
    description:
      'Without two-factor login: a session. With it: `{ twoFactorRequired: true, ' +
      'twoFactorToken }` and no tokens; send a `two_factor` code to the number ' +
      '(`/sms/send-verification`) and complete with `POST /auth/login/2fa`.',
  })
  @ApiBody({
    type: LoginDto,
    examples: { password: { value: { phoneNumber: EXAMPLE_PHONE, password: EXAMPLE_PASSWORD } } },
  })
  @ApiOkResponse({
    schema: {
      oneOf: [
        { $ref: getSchemaPath(TokensResponseDto) },
        { $ref: getSchemaPath(TwoFactorChallengeDto) },
      ],
    },
  })
  @InvalidBodyOrNumber()
  @ApiErrorResponse(
    'INVALID_CREDENTIALS: wrong phone or password (the same answer for both)',
    new InvalidCredentialsError(),
  )
  login(
    @Body() body: LoginDto,
    @Ip() clientIp: string,
  ): Promise<TokensResponseDto | TwoFactorChallengeDto> {
    return this.auth.login({ ...body, clientIp });
  }

  @Post('login/2fa')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Complete a two-factor login with an SMS code',
    description: 'The twoFactorToken from `/auth/login` and a proof for purpose `two_factor`.',
  })
  @ApiBody({
    type: LoginTwoFactorDto,
    examples: proofExamples(
      { twoFactorToken: 'paste-the-twoFactorToken-from-login' },
      'two_factor',
    ),
  })
  @ApiOkResponse({ type: TokensResponseDto })
  @ApiErrorResponse('Invalid body', new RequestValidationError(['twoFactorToken must be a string']))
  @ApiErrorResponse(
    `INVALID_TWO_FACTOR_TOKEN: expired or revoked challenge; ${INVALID_CODE}`,
    new InvalidTwoFactorTokenError(),
    new InvalidProofError(),
  )
  completeTwoFactorLogin(
    @Body() body: LoginTwoFactorDto,
    @Ip() clientIp: string,
  ): Promise<TokensResponseDto> {
    return this.auth.completeTwoFactorLogin({ ...body, clientIp });
  }

  @Post('login-sms')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Log in with an SMS code',
    description:
      'First `POST /sms/send-verification` with purpose `login`, then send the code (or its ' +
      'verification_token) here. Accounts with two-factor login must use `/auth/login`.',
  })
  @ApiBody({ type: LoginSmsDto, examples: proofExamples({ phoneNumber: EXAMPLE_PHONE }, 'login') })
  @ApiOkResponse({ type: TokensResponseDto })
  @InvalidBodyOrNumber()
  @ApiErrorResponse(INVALID_CODE, new InvalidProofError())
  @ApiErrorResponse(
    'PASSWORD_LOGIN_REQUIRED: the account uses two-factor login',
    new PasswordLoginRequiredError(),
  )
  loginWithSms(@Body() body: LoginSmsDto, @Ip() clientIp: string): Promise<TokensResponseDto> {
    return this.auth.loginWithSms({ ...body, clientIp });
  }

  @Post('reset-password-sms')
  @Public()
  @HttpCode(204)
  @ApiOperation({
    summary: 'Set a new password with an SMS code',
    description:
      'First `POST /sms/send-verification` with purpose `password_reset`. Every session of ' +
      'the account ends (refresh and access tokens) and the number is told by SMS. Log in again.',
  })
  @ApiBody({
    type: ResetPasswordSmsDto,
    examples: proofExamples(
      { phoneNumber: EXAMPLE_PHONE, newPassword: 'quiet-harbor-lamp-19' },
      'password_reset',
    ),
  })
  @ApiNoContentResponse({ description: 'Password changed; every session ended' })
  @InvalidBodyOrNumber(new PasswordTooWeakError('common'))
  @ApiErrorResponse(INVALID_CODE, new InvalidProofError())
  resetPasswordWithSms(@Body() body: ResetPasswordSmsDto, @Ip() clientIp: string): Promise<void> {
    return this.auth.resetPasswordWithSms({ ...body, clientIp });
  }

  @Post('refresh')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Trade a refresh token for a new pair',
    description:
      'Each refresh token works once. Presenting one that was already used ends its session ' +
      '(every token descended from the same login): a sign it was stolen.',
  })
  @ApiOkResponse({ type: TokensResponseDto })
  @ApiErrorResponse('Invalid body', new RequestValidationError(['refreshToken must be a string']))
  @ApiErrorResponse(
    'INVALID_REFRESH_TOKEN: unknown, used, expired or revoked',
    new InvalidRefreshTokenError(),
  )
  refresh(@Body() body: RefreshTokenDto): Promise<TokensResponseDto> {
    return this.auth.refresh(body.refreshToken);
  }

  @Post('logout')
  @Public()
  @HttpCode(204)
  @ApiOperation({
    summary: 'End the session of a refresh token',
    description: 'Revokes the refresh token and its family. Always 204.',
  })
  @ApiNoContentResponse({ description: 'Session ended (or there was none)' })
  @ApiErrorResponse('Invalid body', new RequestValidationError(['refreshToken must be a string']))
  logout(@Body() body: RefreshTokenDto): Promise<void> {
    return this.auth.logout(body.refreshToken);
  }

  @Get('me')
  @Authenticated()
  @ApiOperation({ summary: 'The account of the access token' })
  @ApiOkResponse({ type: UserDto })
  me(@CurrentUser() user: TokenSubject): Promise<UserDto> {
    return this.auth.me(user);
  }

  @Post('2fa/enable')
  @Authenticated(new InvalidProofError())
  @HttpCode(200)
  @ApiOperation({
    summary: 'Turn on two-factor login by SMS',
    description:
      'Needs a fresh proof for purpose `two_factor` sent to the account number. From then on ' +
      '`/auth/login` asks for an SMS code after the password.',
  })
  @ApiBody({ type: TwoFactorChangeDto, examples: proofExamples({}, 'two_factor') })
  @ApiOkResponse({ type: UserDto })
  @ApiErrorResponse('Invalid body', new RequestValidationError(['code must be 4 to 10 digits']))
  @ApiErrorResponse('PHONE_NOT_VERIFIED', new PhoneNotVerifiedError())
  enableTwoFactor(
    @CurrentUser() user: TokenSubject,
    @Body() body: TwoFactorChangeDto,
    @Ip() clientIp: string,
  ): Promise<UserDto> {
    return this.auth.setTwoFactor(user, true, { ...body, clientIp });
  }

  @Post('2fa/disable')
  @Authenticated(new InvalidProofError())
  @HttpCode(200)
  @ApiOperation({
    summary: 'Turn off two-factor login',
    description: 'Needs a fresh proof for purpose `two_factor` sent to the account number.',
  })
  @ApiBody({ type: TwoFactorChangeDto, examples: proofExamples({}, 'two_factor') })
  @ApiOkResponse({ type: UserDto })
  @ApiErrorResponse('Invalid body', new RequestValidationError(['code must be 4 to 10 digits']))
  disableTwoFactor(
    @CurrentUser() user: TokenSubject,
    @Body() body: TwoFactorChangeDto,
    @Ip() clientIp: string,
  ): Promise<UserDto> {
    return this.auth.setTwoFactor(user, false, { ...body, clientIp });
  }

  @Post('change-phone')
  @Authenticated(new InvalidCredentialsError(), new InvalidProofError())
  @HttpCode(200)
  @ApiOperation({
    summary: 'Move the account to a new phone number',
    description:
      'Send a `registration` code to the new number, then post it here (`code` or ' +
      '`verificationToken`) with the current password, or with a `two_factor` proof for the ' +
      'current number (`currentCode` or `currentVerificationToken`). Every other session ends, ' +
      'the old number is told by SMS, and a new session is returned.',
  })
  @ApiBody({
    type: ChangePhoneDto,
    examples: {
      password: {
        summary: 'New number code + current password',
        value: {
          newPhoneNumber: '+251911234568',
          code: EXAMPLE_CODE,
          currentPassword: EXAMPLE_PASSWORD,
        },
      },
      twoFactor: {
        summary: 'New number code + two_factor code sent to the current number',
        value: { newPhoneNumber: '+251911234568', code: EXAMPLE_CODE, currentCode: '654321' },
      },
    },
  })
  @ApiOkResponse({ type: TokensResponseDto })
  @InvalidBodyOrNumber(new SamePhoneNumberError(), new PhoneChangeFailedError())
  changePhone(
    @CurrentUser() user: TokenSubject,
    @Body() body: ChangePhoneDto,
    @Ip() clientIp: string,
  ): Promise<TokensResponseDto> {
    return this.auth.changePhone(user, { ...body, clientIp });
  }
}
