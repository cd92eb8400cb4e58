import type { Cache } from 'cache-manager';
import type { z } from 'zod';
import type { AppConfig } from '../config/app-config';
import type { RedisConnection } from '../redis/redis.connection';
import { CachedCopy, type CacheTiming, type SharedEntry, sharedEntrySchema } from './cached-copy';

/** The freshness rules of CACHE_TTL_SECONDS and CACHE_STALE_SECONDS, in milliseconds. */
export function cacheTiming(config: AppConfig): CacheTiming {
  return { ttlMs: config.cache.ttlSeconds * 1000, staleMs: config.cache.staleSeconds * 1000 };
}

/**
 * One resource's copy in the shared tier, through cache-manager's public API: `get`, `set` and
 * `del` on the copy every replica reads. cache-manager answers a failed read as a miss (and says
 * so in its `get` event); Redis failures are counted and logged once by RedisConnection, which
 * the store runs every command through.
 */
export class SharedTier<T> {
  private readonly schema: z.ZodType<SharedEntry<T>>;

  /** `itemSchema` checks each item read back: a value this service did not write is a miss. */
  constructor(
    private readonly cache: Cache,
    readonly key: string,
    itemSchema: z.ZodType<T>,
    private readonly redis: RedisConnection,
    readonly timing: CacheTiming,
  ) {
    this.schema = sharedEntrySchema(itemSchema);
  }

  /** False while reads would fail at once (Redis configured but down, or paused after timeouts). */
  get reachable(): boolean {
    return !this.redis.client || this.redis.isUsable;
  }

  /** The copy replicas share; undefined when there is none, it is not ours, or the read failed. */
  async read(): Promise<CachedCopy<T> | undefined> {
    const value = await this.cache.get<unknown>(this.key);
    return value === undefined ? undefined : CachedCopy.fromShared(value, this.schema, this.timing);
  }

  /** Stores a copy for the other replicas; never replaces a newer one. Failures are logged, not thrown. */
  async write(entry: CachedCopy<T>): Promise<void> {
    try {
      await this.cache.set(this.key, entry.toShared(), this.timing.ttlMs + this.timing.staleMs);
    } catch {
      // Counted and logged by RedisConnection; the in-process tier still serves.
    }
  }

  /** Deletes the shared copy, whoever wrote it. Failures are logged, not thrown. */
  async delete(): Promise<void> {
    try {
      await this.cache.del(this.key);
    } catch {
      // Counted and logged by RedisConnection; the copy expires by itself.
    }
  }
}
