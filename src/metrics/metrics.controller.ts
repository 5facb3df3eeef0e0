import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/http/public.decorator';
import { OperatorRoute } from '../operator/operator-route.decorator';
import { MetricsService } from './metrics.service';

/** /metrics on the main port, for operators; only registered when METRICS_PORT is unset. */
// A throttled scrape would leave a gap in every graph and fire absent-data alerts.
@SkipThrottle()
@ApiTags('operator')
@OperatorRoute()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format)',
    description:
      'SMS events by status, purpose and country; rate-limit rejections by layer; Twilio and ' +
      'HTTP latency histograms; spend by currency; webhook failures; dropped analytics ' +
      'events; Node.js process metrics. With METRICS_PORT set, served there instead, without ' +
      'authentication, and this route answers 404.',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    schema: {
      type: 'string',
      example:
        '# HELP sms_events_total SMS facts by status…\n# TYPE sms_events_total counter\n' +
        'sms_events_total{status="sent",purpose="login",country="ET"} 1200\n',
    },
  })
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('Content-Type', this.metrics.contentType);
    return this.metrics.render();
  }
}
