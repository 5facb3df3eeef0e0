import { Body, Controller, Headers, HttpCode, Ip, Post, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { ErrorEnvelopeDto, RateLimitedEnvelopeDto } from '../common/errors/error-envelope.dto';
import { SmsRateLimit } from '../rate-limit/sms-rate-limit.decorator';
import { verifyLimitsAppliedTo } from '../rate-limit/sms-rate-limit.guard';
import { SendVerificationDto } from './dto/send-verification.dto';
import { VerificationResponseDto } from './dto/verification-response.dto';
import { VerifyCodeDto } from './dto/verify-code.dto';
import { VerificationService } from './verification.service';
import { Public } from '../auth/public.decorator';

@ApiTags('sms')
@Public()
@Controller('sms')
export class SmsController {
  constructor(private readonly verifications: VerificationService) {}

  @Post('send-verification')
  @HttpCode(200)
  @SmsRateLimit('send', SendVerificationDto)
  @ApiOperation({
    summary: 'Send a one-time code by SMS',
    description:
      'Starts (or re-sends) the verification for this phone and purpose. `twilioConfig` is ' +
      'accepted for compatibility and ignored: credentials come from the server only.',
  })
  @ApiOkResponse({ type: VerificationResponseDto, description: 'Code sent; status "pending"' })
  @ApiBadRequestResponse({
    type: ErrorEnvelopeDto,
    description: 'Invalid body, invalid or unsupported number (landline, premium, other country)',
  })
  @ApiServiceUnavailableResponse({
    type: RateLimitedEnvelopeDto,
    description: 'SMS delivery (Twilio) or the limit store is unavailable; nothing was sent',
  })
  send(
    @Body() body: SendVerificationDto,
    @Ip() clientIp: string,
    @Headers('accept-language') acceptLanguage?: string,
  ): Promise<VerificationResponseDto> {
    return this.verifications.send({
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
  @ApiOkResponse({ type: VerificationResponseDto })
  @ApiBadRequestResponse({ type: ErrorEnvelopeDto, description: 'Invalid body or number' })
  @ApiNotFoundResponse({
    type: ErrorEnvelopeDto,
    description: 'No live verification: never sent, expired or already used',
  })
  @ApiServiceUnavailableResponse({ type: RateLimitedEnvelopeDto })
  verify(
    @Body() body: VerifyCodeDto,
    @Ip() clientIp: string,
    @Req() request: object,
  ): Promise<VerificationResponseDto> {
    return this.verifications.check({
      phoneNumber: body.phoneNumber,
      code: body.code,
      purpose: body.purpose,
      countryCode: body.countryCode,
      clientIp,
      limitsAppliedTo: verifyLimitsAppliedTo(request),
    });
  }
}
