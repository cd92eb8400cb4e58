import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { errorMessage, RedisConnection } from '../redis/redis.connection';

type PingResult = { ok: true; latencyMs: number } | { ok: false; error: string };

/**
 * Redis reachability and PING latency. Without Redis there is nothing to check: up. Concurrent
 * checks share one PING in flight, so a flood of /health/deps against a hung Redis sends one
 * command, not one per request (RedisConnection refuses at once while Redis is paused).
 */
@Injectable()
export class RedisHealthIndicator {
  private inFlight: Promise<PingResult> | undefined;

  constructor(
    private readonly indicator: HealthIndicatorService,
    private readonly redis: RedisConnection,
  ) {}

  async check(): Promise<HealthIndicatorResult> {
    const session = this.indicator.check('redis');
    if (!this.redis.client) return session.up({ configured: false });
    this.inFlight ??= this.ping().finally(() => (this.inFlight = undefined));
    const result = await this.inFlight;
    return result.ok
      ? session.up({ host: this.redis.host, latencyMs: result.latencyMs })
      : session.down({
          host: this.redis.host,
          connection: this.redis.client.status,
          error: result.error,
        });
  }

  private async ping(): Promise<PingResult> {
    const started = performance.now();
    try {
      await this.redis.run('health', (client) => client.ping());
      return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
    } catch (error) {
      return { ok: false, error: errorMessage(error) };
    }
  }
}
