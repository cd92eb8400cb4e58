import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import type { z } from 'zod';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { RedisConnection } from '../redis/redis.connection';
import type { TraceContext } from '../tracing/trace-context';
import { CacheKeys } from './cache-keys';
import type { CacheTiming } from './cached-copy';
import { RefreshLock } from './refresh-lock';
import { ResourceCache } from './resource-cache';
import { cacheTiming, SharedTier } from './shared-tier';

/** One more cached list: what ResourceCaches.create needs to know about it. */
export interface ResourceSpec<T> {
  /** Names it in logs and metric labels: a fixed word, never request input. */
  readonly name: string;
  /**
   * Its Redis keys' name (`<prefix>{<fingerprint>}:<key>` and `…:<key>:refresh-lock`); `name`
   * when absent. A per-app list puts the app id here, URI-encoded.
   */
  readonly key?: string;
  /** Asks Superfone for the whole list; throws an UpstreamError when it cannot. */
  readonly fetch: (trace?: TraceContext) => Promise<readonly T[]>;
  /** Checks each item of a copy read back from Redis (the schema of what `fetch` returns). */
  readonly itemSchema: z.ZodType<T>;
}

/**
 * Makes a ResourceCache for any list, with the freshness rules, shared tier and Redis connection
 * of the available-numbers one: each resource gets its own copy key and refresh lock, both in the
 * fingerprint's hash slot.
 */
@Injectable()
export class ResourceCaches {
  private readonly timing: CacheTiming;

  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    private readonly keys: CacheKeys,
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {
    this.timing = cacheTiming(config);
  }

  create<T>(spec: ResourceSpec<T>): ResourceCache<T> {
    const keys = this.keys.forResource(spec.key ?? spec.name);
    return new ResourceCache({
      name: spec.name,
      shared: new SharedTier(this.cache, keys.copy, spec.itemSchema, this.redis, this.timing),
      lock: new RefreshLock(this.redis, keys, this.config, this.logger),
      fetch: spec.fetch,
    });
  }
}
