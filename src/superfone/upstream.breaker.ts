import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { Metrics } from '../metrics/metrics';
import {
  UpstreamAuthFailedError,
  UpstreamRefusal,
  UpstreamUnavailableError,
} from './upstream.errors';

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * The one circuit breaker in front of Superfone (opossum). It opens when the failure rate in the
 * rolling window passes the threshold; while open, calls fail at once with
 * UPSTREAM_UNAVAILABLE and a Retry-After until the reset time, when one probe is let through.
 * A rejected server key does not count (a config problem, not an outage), nor does a documented
 * refusal (unknown app, number taken): Superfone answered.
 */
@Injectable()
export class UpstreamBreaker implements OnApplicationShutdown {
  private readonly breaker: CircuitBreaker<[() => Promise<unknown>]>;
  private readonly logger: Logger;
  private openedAt = 0;

  constructor(
    private readonly config: AppConfig,
    metrics: Metrics,
    logger: AppLogger,
  ) {
    this.logger = logger.child(UpstreamBreaker.name);
    const { errorThresholdPercent, volumeThreshold, windowMs, resetMs } = config.breaker;
    this.breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
      timeout: false, // the upstream client enforces its own total deadline
      errorThresholdPercentage: errorThresholdPercent,
      volumeThreshold,
      rollingCountTimeout: windowMs,
      rollingCountBuckets: 10,
      resetTimeout: resetMs,
      errorFilter: (error: unknown) =>
        error instanceof UpstreamAuthFailedError || error instanceof UpstreamRefusal,
    });
    metrics.circuitState.set(0);
    this.breaker.on('open', () => {
      this.openedAt = Date.now();
      metrics.circuitState.set(2);
      this.logger.warn({ breaker: 'open', resetMs }, 'superfone circuit opened: failing fast');
    });
    this.breaker.on('halfOpen', () => {
      metrics.circuitState.set(1);
      this.logger.info({ breaker: 'half-open' }, 'superfone circuit half-open: probing');
    });
    this.breaker.on('close', () => {
      metrics.circuitState.set(0);
      this.logger.info({ breaker: 'closed' }, 'superfone circuit closed');
    });
  }

  get state(): BreakerState {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'half-open' : 'closed';
  }

  /** Runs `call` through the breaker; rejects at once with UpstreamUnavailableError while open. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return (await this.breaker.fire(call)) as T;
    } catch (error) {
      if ((error as { code?: string }).code === 'EOPENBREAKER') {
        const retryAfterMs = Math.max(
          this.openedAt + this.config.breaker.resetMs - Date.now(),
          1000,
        );
        throw new UpstreamUnavailableError('circuit open', Math.ceil(retryAfterMs / 1000));
      }
      throw error;
    }
  }

  onApplicationShutdown(): void {
    this.breaker.shutdown();
  }
}
