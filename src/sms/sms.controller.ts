import { Body, Controller, Headers, HttpCode, Ip, Post } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponse } from '../common/errors/api-error-response.decorator';
import { RequestValidationError, ServiceUnavailableError } from '../common/errors/product-error';
import { PhoneInvalidError } from '../phone/phone.errors';
import { RateLimitUnavailableError } from '../rate-limit/rate-limit.errors';
import { SmsBudgetExhaustedError } from './abuse/budget/budget.errors';
import { SmsRateLimit } from './abuse/sms-rate-limit.decorator';
import { SendVerificationDto } from './dto/send-verification.dto';
import { VerificationResponseDto } from './dto/verification-response.dto';
import { VerifyCodeDto } from './dto/verify-code.dto';
import { CodeChecker } from './code-checker';
import { VerificationSender } from './verification-sender';
import { Public } from '../common/http/public.decorator';
import { EXAMPLE_PHONE } from '../auth/dto/phone-number.fields';
import {
  SmsDestinationRefusedError,
  SmsProviderUnavailableError,
} from './providers/twilio/twilio-errors';
import { VerificationNotFoundError } from './sms.errors';
import { PURPOSES } from '../common/purpose';

const INVALID_NUMBER = new PhoneInvalidError('too_short', {
  maxLength: 32,
  example: EXAMPLE_PHONE,
  country: 'ET',
});

/**
 * One send example per purpose, so each step of the README's walkthrough picks its own; the first
 * (registration) is what Swagger UI fills in.
 */
const SEND_EXAMPLES = Object.fromEntries(
  PURPOSES.map((purpose) => [
    purpose,
    {
      summary: `A ${purpose} code to the test number`,
      value: { phoneNumber: EXAMPLE_PHONE, purpose, locale: 'en' },
    },
  ]),
);

/**
 * The README's walkthrough checks a password_reset code here (its registration and login codes are
 * spent by the auth routes), so that one comes first.
 */
const VERIFY_EXAMPLES = Object.fromEntries(
  (['password_reset', 'registration', 'login', 'two_factor'] as const).map((purpose) => [
    purpose,
    {
      summary: `The ${purpose} code of the test number`,
      value: { phoneNumber: EXAMPLE_PHONE, code: '123456', purpose },
    },
  ]),
);

@ApiTags('sms')
@Public()
@Controller('sms')
export class SmsController {
  constructor(
    private readonly sender: VerificationSender,
    private readonly codes: CodeChecker,
  ) {}

  @Post('send-verification')
  @HttpCode(200)
  @SmsRateLimit('send', SendVerificationDto)
  @ApiOperation({
    summary: 'Send a one-time code by SMS',
    description:
      'Starts (or re-sends) the verification for this phone and purpose. `twilioConfig` is ' +
      'accepted for compatibility and ignored: credentials come from the server only.',
  })
  @ApiBody({ type: SendVerificationDto, examples: SEND_EXAMPLES })
  @ApiHeader({
    name: 'accept-language',
    required: false,
    description: 'The SMS language when the body has no `locale` (en, am, fr)',
  })
  @ApiOkResponse({ type: VerificationResponseDto, description: 'Code sent; status "pending"' })
  @ApiErrorResponse(
    'Invalid body, invalid or unsupported number (landline, premium, other country), or a ' +
      'destination the SMS provider refuses',
    new RequestValidationError(['purpose must be one of the following values: registration, …']),
    INVALID_NUMBER,
    new SmsDestinationRefusedError(),
  )
  @ApiErrorResponse(
    'Nothing was sent: SMS delivery (Twilio), the limit store or the database is unavailable, or ' +
      "today's SMS budget is spent. `retryAfter` seconds and Retry-After.",
    new SmsProviderUnavailableError(),
    new RateLimitUnavailableError(undefined),
    new ServiceUnavailableError(),
    new SmsBudgetExhaustedError(3600),
  )
  send(
    @Body() body: SendVerificationDto,
    @Ip() clientIp: string,
    @Headers('accept-language') acceptLanguage?: string,
  ): Promise<VerificationResponseDto> {
    return this.sender.send({
      phoneNumber: body.phoneNumber,
      purpose: body.purpose,
      countryCode: body.countryCode,
      locale: body.locale,
      acceptLanguage,
      clientIp,
    });
  }

  @Post('verify-code')
  @HttpCode(200)
  @SmsRateLimit('verify', VerifyCodeDto)
  @ApiOperation({
    summary: 'Check a code',
    description:
      'Right code: `status: "approved", valid: true` and a single-use `verification_token`. ' +
      'Wrong code: `status: "pending", valid: false`.',
  })
  @ApiBody({ type: VerifyCodeDto, examples: VERIFY_EXAMPLES })
  @ApiOkResponse({ type: VerificationResponseDto })
  @ApiErrorResponse(
    'Invalid body or number',
    new RequestValidationError(['code must be 4 to 10 digits']),
    INVALID_NUMBER,
  )
  @ApiErrorResponse(
    'No live verification: never sent, expired or already used',
    new VerificationNotFoundError(),
  )
  @ApiErrorResponse(
    'The code cannot be checked right now (the SMS provider, the limit store or the database is ' +
      'unavailable); no attempt was spent',
    new SmsProviderUnavailableError(),
    new RateLimitUnavailableError(undefined),
    new ServiceUnavailableError(),
  )
  verify(@Body() body: VerifyCodeDto, @Ip() clientIp: string): Promise<VerificationResponseDto> {
    return this.codes.check({
      phoneNumber: body.phoneNumber,
      code: body.code,
      purpose: body.purpose,
      countryCode: body.countryCode,
      clientIp,
    });
  }
}
