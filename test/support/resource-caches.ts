import { createCache } from 'cache-manager';
import { Redis } from 'ioredis';
import { Keyv } from 'keyv';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CacheKeys } from '../../src/cache/cache-keys';
import { IoredisKeyvStore } from '../../src/cache/ioredis-keyv.store';
import { RefreshLock } from '../../src/cache/refresh-lock';
import { ResourceCache } from '../../src/cache/resource-cache';
import { ResourceCaches } from '../../src/cache/resource-caches';
import { cacheTiming, SharedTier } from '../../src/cache/shared-tier';
import type { AppConfig } from '../../src/config/app-config';
import { loadConfig } from '../../src/config/load-config';
import { AppLogger } from '../../src/logging/app-logger';
import { Metrics } from '../../src/metrics/metrics';
import { createRedisClient } from '../../src/redis/redis-client.factory';
import { RedisConnection } from '../../src/redis/redis.connection';
import { clientKeyEntry, clientKeysJson } from './client-keys.fixture';
import { defined } from './defined';
import { testRedisUrl } from './test-app';

/** The item of the lists these specs cache. */
export const item = z.object({ id: z.string() });
export type Item = z.infer<typeof item>;

/** The suite's Redis under a key prefix of its own. Superfone's timeout is long on purpose: a wrong wait shows as a test timeout. */
export function cacheConfig(prefix = `superfone-bff-test:${randomUUID()}:`): AppConfig {
  return loadConfig({
    SUPERFONE_API_KEY: 'server-key',
    CLIENT_KEYS: clientKeysJson([clientKeyEntry('a', 'k', ['numbers:read'])]),
    REDIS_URL: testRedisUrl(),
    REDIS_KEY_PREFIX: prefix,
    REDIS_COMMAND_TIMEOUT_MS: '1000',
    SUPERFONE_TIMEOUT_MS: '30000',
    LOG_LEVEL: 'silent',
  });
}

/** A plain client on the suite's Redis, for looking at what the service stored (disconnect() it). */
export function redisProbe(): Redis {
  return new Redis(testRedisUrl());
}

/** One replica's cache tier over the real Redis: its own connection, cache-manager and ResourceCaches. */
export class Replica {
  readonly keys: CacheKeys;
  readonly caches: ResourceCaches;
  private readonly cache: ReturnType<typeof createCache>;
  private readonly logger: AppLogger;

  private constructor(
    readonly connection: RedisConnection,
    readonly config: AppConfig,
  ) {
    this.keys = new CacheKeys(config.redis.keyPrefix, config.superfone.apiKey);
    this.logger = new AppLogger(config);
    this.cache = createCache({
      stores: [
        new Keyv({
          store: new IoredisKeyvStore(connection),
          useKeyPrefix: false,
          throwOnErrors: true,
        }),
      ],
    });
    this.caches = new ResourceCaches(this.cache, this.keys, connection, config, this.logger);
  }

  static async start(config: AppConfig): Promise<Replica> {
    const settings = config.redis;
    const connection = new RedisConnection(
      createRedisClient({
        ...settings,
        topology: defined(settings.topology, 'the Redis topology of REDIS_URL'),
      }),
      config,
      new Metrics(),
      new AppLogger(config),
    );
    await connection.onModuleInit();
    return new Replica(connection, config);
  }

  /** The shared tier of `name`, as any replica's cache of it reads and writes it. */
  sharedTier(name: string): SharedTier<Item> {
    const { copy } = this.keys.forResource(name);
    return new SharedTier(this.cache, copy, item, this.connection, cacheTiming(this.config));
  }

  /** A cache for `name` whose lock the test can watch (ResourceCaches.create, with the lock exposed). */
  resource(
    name: string,
    upstream: GatedUpstream,
  ): { cache: ResourceCache<Item>; lock: RefreshLock } {
    const lock = new RefreshLock(
      this.connection,
      this.keys.forResource(name),
      this.config,
      this.logger,
    );
    const shared = this.sharedTier(name);
    return { cache: new ResourceCache({ name, shared, lock, fetch: upstream.fetch }), lock };
  }

  close(): Promise<void> {
    return this.connection.onApplicationShutdown();
  }
}

/**
 * Superfone's list as the cache sees it. A fetch answers with the list as it was when the call
 * began (`items` at that moment), and waits while `held` is set: a slow call that started before a
 * write returns the list without it.
 */
export class GatedUpstream {
  calls = 0;
  /** `start:n` and `end:n` per call, in the order they happened. */
  readonly events: string[] = [];
  items: Item[] = [{ id: 'a' }];
  private held: { promise: Promise<void>; open: () => void } | undefined;

  hold(): void {
    let open: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.held = { promise, open };
  }

  release(): void {
    this.held?.open();
    this.held = undefined;
  }

  fetch = async (): Promise<Item[]> => {
    const call = ++this.calls;
    const items = this.items;
    this.events.push(`start:${call}`);
    if (this.held) await this.held.promise;
    this.events.push(`end:${call}`);
    return items;
  };
}
