import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '../openapi/swagger-decorators';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorFunction,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { ApiProblems } from '../openapi/api-docs.decorators';
import { NumbersCacheService } from '../cache/numbers-cache.service';
import { AppConfig } from '../config/app-config';
import { UpstreamBreaker } from '../superfone/upstream.breaker';
import { LifecycleHealthIndicator } from './lifecycle.health';
import { RedisHealthIndicator } from './redis.health';

/** Kubernetes probes and a dependency report. No auth, no rate limit. */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly lifecycle: LifecycleHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly breaker: UpstreamBreaker,
    private readonly cache: NumbersCacheService,
    private readonly config: AppConfig,
  ) {}

  /** The process can serve: answering at all is the check. */
  @Get('live')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Liveness: the process answers (no client key)' })
  @ApiResponse({
    status: 200,
    description: 'The process answers.',
    schema: { $ref: '#/components/schemas/Health' },
  })
  @ApiProblems('INVALID_REQUEST')
  live() {
    return this.health.check([]);
  }

  /**
   * 503 while starting or draining. Never gated on Superfone (an upstream blip would take every
   * pod out at once); gated on Redis only with READINESS_REQUIRES_REDIS=true, since the service
   * still serves without it.
   */
  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Readiness: 503 while starting or draining (no client key)' })
  @ApiResponse({
    status: 200,
    description: 'Ready for traffic.',
    schema: { $ref: '#/components/schemas/Health' },
  })
  @ApiProblems('INVALID_REQUEST', 'NOT_READY')
  ready() {
    const checks: HealthIndicatorFunction[] = [() => this.lifecycle.check()];
    if (this.config.readinessRequiresRedis) checks.push(() => this.redis.check());
    return this.health.check(checks);
  }

  /** For people and dashboards, not probes: Redis, the circuit, the age of the cached copy. */
  @Get('deps')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    summary: 'Dependencies: Redis, the Superfone circuit, the cached copy (no client key)',
  })
  @ApiResponse({
    status: 200,
    description: 'Every dependency up (or degraded).',
    schema: { $ref: '#/components/schemas/Health' },
  })
  @ApiProblems('INVALID_REQUEST', 'NOT_READY')
  deps() {
    return this.health.check([
      () => this.redis.check(),
      () => {
        const state = this.breaker.state;
        const session = this.indicator.check('superfone');
        return state === 'closed'
          ? session.up({ circuit: state })
          : session.degraded({ circuit: state });
      },
      () => this.indicator.check('cache').up({ ageSeconds: this.cache.localAgeSeconds ?? null }),
    ]);
  }
}
