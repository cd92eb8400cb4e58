import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { RedisConnection } from '../cache/redis.connection';
import { Metrics } from '../metrics/metrics';

/** Redis reachability and PING latency. Without REDIS_URL there is nothing to check: up. */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly redis: RedisConnection,
    private readonly metrics: Metrics,
  ) {}

  async check(): Promise<HealthIndicatorResult> {
    const session = this.indicator.check('redis');
    const client = this.redis.client;
    if (!client) return session.up({ configured: false });
    const started = performance.now();
    try {
      await client.ping();
      return session.up({ host: this.redis.host, latencyMs: Math.round((performance.now() - started) * 10) / 10 });
    } catch (error) {
      this.metrics.redisErrors.inc({ operation: 'health' });
      return session.down({ host: this.redis.host, connection: client.status, error: (error as Error).message });
    }
  }
}
