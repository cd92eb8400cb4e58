import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { LifecycleHealthIndicator } from './lifecycle.health';

/** Kubernetes probes. No auth; no dependency is checked by liveness. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly lifecycle: LifecycleHealthIndicator,
  ) {}

  /** The process can serve: answering at all is the check. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** 503 while starting or draining; never gated on Superfone. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.lifecycle.check()]);
  }
}
