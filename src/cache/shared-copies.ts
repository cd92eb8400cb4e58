import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { AppConfig } from '../config/app-config';
import { RedisConnection } from '../redis/redis.connection';
import { CacheKeys } from './cache-keys';
import { CachedNumbers, CacheTiming } from './cached-numbers';

/**
 * The shared tier, through cache-manager's public API: `get` and `set` on the copy every replica
 * reads. cache-manager answers a failed read as a miss (and says so in its `get` event); Redis
 * failures are counted and logged once by RedisConnection, which the store runs every command through.
 */
@Injectable()
export class SharedCopies {
  readonly timing: CacheTiming;

  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    private readonly keys: CacheKeys,
    private readonly redis: RedisConnection,
    config: AppConfig,
  ) {
    this.timing = {
      ttlMs: config.cache.ttlSeconds * 1000,
      staleMs: config.cache.staleSeconds * 1000,
    };
  }

  /** False while reads would fail at once (Redis configured but down, or paused after timeouts). */
  get reachable(): boolean {
    return !this.redis.client || this.redis.isUsable;
  }

  /** The copy replicas share; undefined when there is none, it is not ours, or the read failed. */
  async read(): Promise<CachedNumbers | undefined> {
    const value = await this.cache.get<unknown>(this.keys.numbers);
    return value === undefined ? undefined : CachedNumbers.fromShared(value, this.timing);
  }

  /** Stores a copy for the other replicas; never replaces a newer one. Failures are logged, not thrown. */
  async write(entry: CachedNumbers): Promise<void> {
    try {
      await this.cache.set(
        this.keys.numbers,
        entry.toShared(),
        this.timing.ttlMs + this.timing.staleMs,
      );
    } catch {
      // Counted and logged by RedisConnection; the in-process tier still serves.
    }
  }
}
