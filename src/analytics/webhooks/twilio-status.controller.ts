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
import { FormBody } from '../../common/http/media-type';
import { parseStatusCallback } from '../../sms/providers/twilio/twilio-status-callback';
import { DeliveryTrackingService } from '../delivery/delivery-tracking.service';
import { TwilioWebhook } from './twilio-webhook.guard';
import { WebhookStats } from './webhook-stats';
import { Public } from '../../common/http/public.decorator';

@ApiTags('webhooks')
@Public()
@Controller('webhooks/twilio')
export class TwilioStatusController {
  constructor(
    private readonly tracking: DeliveryTrackingService,
    private readonly stats: WebhookStats,
  ) {}

  /** Twilio's Messaging status callbacks (parseStatusCallback reads Twilio's form). */
  @Post('status')
  @HttpCode(204)
  @TwilioWebhook()
  @FormBody()
  @ApiOperation({ summary: 'Twilio Messaging status callback (form-encoded, signed by Twilio)' })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiNoContentResponse({ description: 'Accepted; duplicates and late callbacks change nothing' })
  @ApiBadRequestResponse({ type: ErrorEnvelopeDto, description: 'Not a Messaging status callback' })
  async status(@Req() request: FastifyRequest): Promise<void> {
    const update = parseStatusCallback(request.body as Record<string, string>);
    try {
      await this.tracking.handle(update);
      this.stats.accepted();
    } catch (error) {
      this.stats.failed('processing');
      throw error;
    }
  }
}
