import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConsumes,
  ApiNoContentResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ErrorEnvelopeDto } from '../../common/errors/error-envelope.dto';
import { RequestValidationError } from '../../common/errors/product-error';
import { FormBody } from '../../common/http/media-type';
import { DeliveryTrackingService } from '../delivery/delivery-tracking.service';
import { TwilioWebhook } from './twilio-webhook.guard';
import { WebhookStats } from './webhook-stats';
import { Public } from '../../common/http/public.decorator';

const MESSAGE_SID = /^(SM|MM)[0-9a-fA-F]{32}$/;
const MESSAGE_STATUS = /^[a-z_]{3,20}$/;
const ERROR_CODE = /^\d{1,6}$/;

@ApiTags('webhooks')
@Public()
@Controller('webhooks/twilio')
export class TwilioStatusController {
  constructor(
    private readonly tracking: DeliveryTrackingService,
    private readonly stats: WebhookStats,
  ) {}

  /**
   * Twilio's Messaging status callbacks. The body is read as Twilio's form, not a DTO: Twilio adds
   * parameters over time, and refusing an unknown one would lose deliveries.
   */
  @Post('status')
  @HttpCode(204)
  @TwilioWebhook()
  @FormBody()
  @ApiOperation({ summary: 'Twilio Messaging status callback (form-encoded, signed by Twilio)' })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiNoContentResponse({ description: 'Accepted; duplicates and late callbacks change nothing' })
  @ApiBadRequestResponse({ type: ErrorEnvelopeDto, description: 'Not a Messaging status callback' })
  async status(@Req() request: FastifyRequest): Promise<void> {
    const body = request.body as Record<string, string>;
    const messageSid = body.MessageSid ?? body.SmsSid;
    const status = body.MessageStatus ?? body.SmsStatus;
    const errorCode = body.ErrorCode;
    const problems: string[] = [];
    if (!messageSid || !MESSAGE_SID.test(messageSid))
      problems.push('MessageSid must be a Twilio message sid');
    if (!status || !MESSAGE_STATUS.test(status))
      problems.push('MessageStatus must be a Twilio message status');
    if (errorCode !== undefined && errorCode !== '' && !ERROR_CODE.test(errorCode)) {
      problems.push('ErrorCode must be numeric');
    }
    if (problems.length > 0) throw new RequestValidationError(problems);
    try {
      await this.tracking.handle({ messageSid, status, errorCode: errorCode || undefined });
      this.stats.accepted();
    } catch (error) {
      this.stats.failed('processing');
      throw error;
    }
  }
}
