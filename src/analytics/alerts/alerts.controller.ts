import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Public } from '../../common/http/public.decorator';
import { OperatorRoute } from '../../operator/operator-route.decorator';
import { ALERT_RULES } from './alert-rules';
import { SmsAlertRepository } from './sms-alert.repository';

class AlertDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ enum: ALERT_RULES })
  rule: string;

  @ApiProperty({
    example: 0.0952,
    description:
      'Latest value seen above the threshold: a share (failure_rate), milliseconds ' +
      '(response_time: the p95 of every SMS and auth request, as the upper bound of its ' +
      'histogram bucket), a count per hour (rate_limit_violations, webhook_failures, ' +
      'security_incidents) or money in SMS_BUDGET_CURRENCY (daily_cost)',
  })
  value: number;

  @ApiProperty({ example: 0.05 })
  threshold: number;

  @ApiProperty({
    example:
      'SMS failure rate 9.5% over the last hour (2 failed or undelivered of 21 sends) is above 5%',
  })
  message: string;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  startedAt: string;

  @ApiProperty({ type: String, nullable: true, example: null, description: 'null while open' })
  resolvedAt: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '2026-11-24T10:00:01.000Z',
    description: 'When ALERT_WEBHOOK_URL accepted the alert; null: not delivered (or no URL)',
  })
  notifiedAt: string | null;
}

class AlertListDto {
  @ApiProperty({ type: [AlertDto], description: 'Open alerts, newest first' })
  active: AlertDto[];

  @ApiProperty({ type: [AlertDto], description: 'The latest 50 resolved alerts, newest first' })
  recent: AlertDto[];
}

@ApiTags('operator')
@OperatorRoute()
@Public()
@Controller('analytics/sms/alerts')
export class AlertsController {
  constructor(private readonly alerts: SmsAlertRepository) {}

  @Get()
  @ApiOperation({
    summary: 'Alerts on the SPEC thresholds: failure rate, response time, rate limits, cost…',
    description:
      'Rules are evaluated every ALERT_EVALUATION_INTERVAL_MS; an alert opens above its ' +
      'threshold and resolves at or below it.',
  })
  @ApiOkResponse({ type: AlertListDto })
  list(): Promise<AlertListDto> {
    return this.alerts.list();
  }
}
