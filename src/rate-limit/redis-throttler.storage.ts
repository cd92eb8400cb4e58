import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import type { Logger } from 'pino';
import { RedisConnection } from '../cache/redis.connection';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { Metrics } from '../metrics/metrics';

/**
 * One atomic round trip per request: count the hit and start the window on the first one.
 * Returns the hit count and the window's remaining milliseconds.
 */
const INCREMENT_SCRIPT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {hits, ttl}`;

/**
 * Rate-limit counters in Redis, so a client's limit holds across replicas (fixed one-minute
 * windows). While Redis is absent or failing, counting falls back to this process (the
 * library's in-memory storage): limits loosen to per-replica rather than refusing traffic.
 */
@Injectable()
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly fallback = new ThrottlerStorageService();
  private readonly logger: Logger;
  private usingFallback = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    logger: AppLogger,
  ) {
    this.logger = logger.child(RedisThrottlerStorage.name);
    redis.client?.defineCommand('superfoneBffRateHit', { numberOfKeys: 1, lua: INCREMENT_SCRIPT });
  }

  /** `ttl` and `blockDuration` are in milliseconds; the record's times are in seconds. */
  async increment(key: string, ttl: number, limit: number, blockDuration: number, name: string): Promise<ThrottlerStorageRecord> {
    const client = this.redis.client as (typeof this.redis.client & { superfoneBffRateHit(key: string, ttl: number): Promise<[number, number]> }) | undefined;
    if (client) {
      try {
        const [hits, remainingMs] = await client.superfoneBffRateHit(`${this.config.redis.keyPrefix}rate:${key}`, ttl);
        this.noteRedis(true);
        const seconds = Math.max(Math.ceil(remainingMs / 1000), 1);
        return { totalHits: hits, timeToExpire: seconds, isBlocked: hits > limit, timeToBlockExpire: hits > limit ? seconds : 0 };
      } catch (error) {
        this.metrics.redisErrors.inc({ operation: 'rate_limit' });
        this.noteRedis(false, error);
      }
    }
    return this.fallback.increment(key, ttl, limit, blockDuration, name);
  }

  private noteRedis(ok: boolean, error?: unknown): void {
    if (ok === !this.usingFallback) return;
    this.usingFallback = !ok;
    if (ok) this.logger.info('rate limits counted in Redis again');
    else this.logger.warn({ err: (error as Error).message }, 'rate limits falling back to per-process counting: Redis failed');
  }

  onApplicationShutdown(): void {
    this.fallback.onApplicationShutdown();
  }
}
