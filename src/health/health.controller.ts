import { Controller, Get, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { DatabaseHealthIndicator } from './database.health';
import { RedisHealthIndicator } from './redis.health';
import { Public } from '../common/http/public.decorator';

// Probes must never be throttled: an orchestrator would restart healthy instances.
@SkipThrottle()
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  // `/health/live` names it beside `/health/ready` for orchestrators; neither touches a dependency,
  // so an outage of the database or Redis never gets a healthy instance restarted.
  @Get(['', 'live'])
  @ApiOperation({ summary: 'Liveness: the process is up and serving HTTP' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database and Redis (when configured) answer' })
  @ApiOkResponse({
    schema: {
      example: { status: 'ok', details: { database: { status: 'up' }, redis: { status: 'up' } } },
    },
  })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down; the body says which' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check([
        () => this.database.check('database'),
        () => this.redis.check('redis'),
      ]);
    } catch (error) {
      // Terminus throws with the full result when a check is down; keep that body, answer 503.
      const result = (error as { response?: HealthCheckResult }).response;
      if (!result) throw error;
      void reply.status(503);
      return result;
    }
  }
}
