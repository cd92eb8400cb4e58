import type { Redis } from 'ioredis';
import type { KeyvStoreAdapter } from 'keyv';
import { EventEmitter } from 'node:events';

/**
 * A Keyv store over the service's ioredis client, so cache-manager and the rest of the service
 * share one Redis client library (and one connection). Keys are used as given: Keyv's own
 * prefixing is off and CacheKeys builds the full names.
 */
export class IoredisKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  readonly opts = {};
  namespace?: string;

  constructor(private readonly redis: Redis) {
    super();
  }

  async get<Value>(key: string): Promise<Value | undefined> {
    const value = await this.redis.get(key);
    return (value ?? undefined) as Value | undefined;
  }

  async set(key: string, value: string, ttl?: number): Promise<void> {
    if (ttl && ttl > 0) await this.redis.set(key, value, 'PX', Math.ceil(ttl));
    else await this.redis.set(key, value);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.redis.del(key)) > 0;
  }

  async has(key: string): Promise<boolean> {
    return (await this.redis.exists(key)) > 0;
  }

  /**
   * Keyv's clear() would wipe a whole namespace; this service never needs that, and a shared
   * Redis may hold other deployments' keys, so it deliberately deletes nothing.
   */
  async clear(): Promise<void> {}
}
