import { FakeRedis } from '../../test/support/fake-redis';
import { sha256 } from '../auth/client-keys';
import { loadConfig } from '../config/load-config';
import { AppLogger } from '../logging/app-logger';
import { Metrics } from '../metrics/metrics';
import type { RedisClient } from '../redis/redis-client.factory';
import { RedisConnection } from '../redis/redis.connection';
import { IoredisKeyvStore } from './ioredis-keyv.store';

/** The Keyv store over the service's Redis connection, against the fake Redis (the Lua runs on real Redis in test/redis-scripts). */
describe(IoredisKeyvStore.name, () => {
  const config = loadConfig({
    SUPERFONE_API_KEY: 'server-key',
    CLIENT_KEYS: JSON.stringify([
      { id: 'a', keySha256: sha256('k').toString('hex'), scopes: ['numbers:read'] },
    ]),
    REDIS_URL: 'redis://fake:6379',
    LOG_LEVEL: 'silent',
  });
  let redis: ReturnType<typeof FakeRedis.create>;
  let metrics: Metrics;
  let store: IoredisKeyvStore;
  const copy = (fetchedAt: string) =>
    JSON.stringify({ value: { fetchedAt, data: [] }, expires: null });

  beforeEach(() => {
    redis = FakeRedis.create();
    metrics = new Metrics();
    store = new IoredisKeyvStore(
      new RedisConnection(redis as unknown as RedisClient, config, metrics, new AppLogger(config)),
    );
  });

  async function errorsBy(operation: string): Promise<number> {
    return (
      (await metrics.redisErrors.get()).values.find((v) => v.labels.operation === operation)
        ?.value ?? 0
    );
  }

  it('writes through the set-unless-newer script with the TTL in whole milliseconds', async () => {
    expect(await store.set('k', copy('2026-11-28T10:00:00.000Z'), 1500.2)).toBe(true);

    expect(redis.calls).toEqual([
      { name: 'superfoneBffSetUnlessNewer', args: ['k', copy('2026-11-28T10:00:00.000Z'), 1501] },
    ]);
    expect(await store.get('k')).toBe(copy('2026-11-28T10:00:00.000Z'));
  });

  it('refuses a copy without a TTL (it would never leave Redis) and sends nothing', async () => {
    await expect(store.set('k', copy('2026-11-28T10:00:00.000Z'))).rejects.toThrow(
      'every shared copy needs a TTL',
    );
    await expect(store.set('k', copy('2026-11-28T10:00:00.000Z'), 0)).rejects.toThrow(
      'every shared copy needs a TTL',
    );
    await expect(store.set('k', copy('2026-11-28T10:00:00.000Z'), -5)).rejects.toThrow(
      'every shared copy needs a TTL',
    );

    expect(redis.sent).toEqual([]);
  });

  it('reads a missing key as undefined; has() and delete() say whether the key was there', async () => {
    expect(await store.get('k')).toBeUndefined();
    expect(await store.has('k')).toBe(false);
    expect(await store.delete('k')).toBe(false);

    await store.set('k', copy('2026-11-28T10:00:00.000Z'), 60_000);

    expect(await store.has('k')).toBe(true);
    expect(await store.delete('k')).toBe(true);
    expect(redis.raw('k')).toBeUndefined();
  });

  it("clear() deletes nothing: a shared Redis may hold other deployments' keys", async () => {
    await store.set('k', copy('2026-11-28T10:00:00.000Z'), 60_000);

    await store.clear();

    expect(redis.raw('k')).toBeDefined();
  });

  it('counts failed reads as cache_read and failed writes as cache_write', async () => {
    redis.failing.add('get');
    redis.failing.add('exists');
    redis.failing.add('superfoneBffSetUnlessNewer');
    redis.failing.add('del');

    await expect(store.get('k')).rejects.toThrow();
    await expect(store.has('k')).rejects.toThrow();
    await expect(store.set('k', copy('2026-11-28T10:00:00.000Z'), 60_000)).rejects.toThrow();
    await expect(store.delete('k')).rejects.toThrow();

    expect(await errorsBy('cache_read')).toBe(2);
    expect(await errorsBy('cache_write')).toBe(2);
  });
});
