import type { KeyvStoreAdapter } from 'keyv';
import { EventEmitter } from 'node:events';
import type { RedisClient } from '../redis/redis-client.factory';
import { RedisConnection } from '../redis/redis.connection';

/**
 * Writes a value unless the key holds one with a later `value.fetchedAt` (ISO times compare as
 * strings): a slow refresh finishing late never replaces a newer copy another replica wrote.
 * A value of another type, or one that is not ours, is overwritten: the next write heals it.
 */
const SET_UNLESS_NEWER = `
if redis.call('TYPE', KEYS[1]).ok == 'string' then
  local okStored, stored = pcall(cjson.decode, redis.call('GET', KEYS[1]))
  local okIncoming, incoming = pcall(cjson.decode, ARGV[1])
  if okStored and okIncoming and type(stored) == 'table' and type(incoming) == 'table'
    and type(stored.value) == 'table' and type(incoming.value) == 'table'
    and type(stored.value.fetchedAt) == 'string' and type(incoming.value.fetchedAt) == 'string'
    and stored.value.fetchedAt > incoming.value.fetchedAt then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

type WithScripts = RedisClient & {
  superfoneBffSetUnlessNewer(key: string, value: string, ttlMs: number): Promise<number>;
};

/**
 * A Keyv store over the service's one Redis connection, so cache-manager and the rest of the
 * service share one client library, one connection and one set of grey-failure rules
 * (RedisConnection.run). Keys are used as given: Keyv's own prefixing is off and CacheKeys
 * builds the full names.
 */
export class IoredisKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  readonly opts = {};
  namespace?: string;

  constructor(private readonly redis: RedisConnection) {
    super();
    redis.client?.defineCommand('superfoneBffSetUnlessNewer', {
      numberOfKeys: 1,
      lua: SET_UNLESS_NEWER,
    });
  }

  async get<Value>(key: string): Promise<Value | undefined> {
    const value = await this.redis.run('cache_read', (client) => client.get(key));
    return (value ?? undefined) as Value | undefined;
  }

  async set(key: string, value: string, ttl?: number): Promise<boolean> {
    const ttlMs = ttl && ttl > 0 ? Math.ceil(ttl) : 0;
    if (ttlMs === 0) throw new Error('every shared copy needs a TTL');
    await this.redis.run('cache_write', (client) =>
      (client as WithScripts).superfoneBffSetUnlessNewer(key, value, ttlMs),
    );
    return true;
  }

  async delete(key: string): Promise<boolean> {
    return (await this.redis.run('cache_write', (client) => client.del(key))) > 0;
  }

  async has(key: string): Promise<boolean> {
    return (await this.redis.run('cache_read', (client) => client.exists(key))) > 0;
  }

  /**
   * Keyv's clear() would wipe a whole namespace; this service never needs that, and a shared
   * Redis may hold other deployments' keys, so it deliberately deletes nothing.
   */
  async clear(): Promise<void> {}
}
