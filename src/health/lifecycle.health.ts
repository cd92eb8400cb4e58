import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { LifecycleState } from './lifecycle.state';

/** Readiness: up only while serving. Never depends on Superfone (a blip would empty the Service). */
@Injectable()
export class LifecycleHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly lifecycle: LifecycleState,
  ) {}

  check(): HealthIndicatorResult {
    const session = this.indicator.check('lifecycle');
    const phase = this.lifecycle.current;
    return phase === 'serving' ? session.up({ phase }) : session.down({ phase });
  }
}
