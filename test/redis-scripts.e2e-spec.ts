import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { CacheKeys } from '../src/cache/cache-keys';
import { IoredisKeyvStore } from '../src/cache/ioredis-keyv.store';
import { RefreshLock } from '../src/cache/refresh-lock';
import { loadConfig } from '../src/config/load-config';
import { AppLogger } from '../src/logging/app-logger';
import { Metrics } from '../src/metrics/metrics';
import { createRedisClient } from '../src/redis/redis-client.factory';
import { RedisConnection } from '../src/redis/redis.connection';
import { clientKeyEntry, clientKeysJson } from './support/client-keys.fixture';
import { defined } from './support/defined';
import { deleteKeys, testRedisUrl } from './support/test-app';

/** The service's Lua scripts against a real Redis (their TypeScript mirror drives the fake-clock specs). */
describe('Redis scripts on a real Redis', () => {
  const prefix = `superfone-bff-test:${randomUUID()}:`;
  const config = loadConfig({
    SUPERFONE_API_KEY: 'server-key',
    CLIENT_KEYS: clientKeysJson([clientKeyEntry('a', 'k', ['numbers:read'])]),
    REDIS_URL: testRedisUrl(),
    REDIS_KEY_PREFIX: prefix,
    REDIS_COMMAND_TIMEOUT_MS: '1000',
    LOG_LEVEL: 'silent',
  });
  let keys: CacheKeys;
  const logger = new AppLogger(config);
  const connections: RedisConnection[] = [];
  let probe: Redis;

  function connection(): RedisConnection {
    const settings = config.redis;
    const c = new RedisConnection(
      createRedisClient({
        ...settings,
        topology: defined(settings.topology, 'the Redis topology of REDIS_URL'),
      }),
      config,
      new Metrics(),
      new AppLogger(config),
    );
    connections.push(c);
    return c;
  }

  beforeAll(() => {
    probe = new Redis(testRedisUrl());
  });
  // The service's objects are made per test, not in beforeAll: Stryker takes code that runs
  // outside a test for "static" mutants, which it must test against every spec.
  beforeEach(async () => {
    keys = new CacheKeys(prefix, 'server-key');
    for (const c of [connection(), connection()]) await c.onModuleInit();
  });
  afterEach(async () => {
    await probe.del(keys.refreshLock, keys.numbers);
    await Promise.all(connections.splice(0).map((c) => c.onApplicationShutdown()));
  });
  afterAll(async () => {
    await deleteKeys(testRedisUrl(), prefix);
    probe.disconnect();
  });

  it('the lock: one holder; release checks the token, so an expired owner never frees the next holder', async () => {
    const [a, b] = [
      new RefreshLock(connections[0], keys, config, logger),
      new RefreshLock(connections[1], keys, config, logger),
    ];

    const first = await a.acquire();
    expect(first.state).toBe('acquired');
    expect((await b.acquire()).state).toBe('busy');
    // The first owner's lock expires; the next holder takes it; the first owner's late release leaves it alone.
    await probe.del(keys.refreshLock);
    const second = await b.acquire();
    expect(second.state).toBe('acquired');
    await a.release(first);
    expect(await probe.get(keys.refreshLock)).toBe(second.token);
    await b.release(second);
    expect(await probe.exists(keys.refreshLock)).toBe(0);
  });

  it('the lock: a retried attempt that had landed is ours; a foreign value is reported, not waited on', async () => {
    const lock = new RefreshLock(connections[0], keys, config, logger);
    const attempt = await lock.acquire();
    const client = connections[0].client as unknown as {
      superfoneBffAcquireLock(k: string, t: string, ms: number): Promise<number>;
    };

    expect(await client.superfoneBffAcquireLock(keys.refreshLock, attempt.token, 5000)).toBe(1);
    expect(await client.superfoneBffAcquireLock(keys.refreshLock, 'someone-else', 5000)).toBe(0);

    await probe.del(keys.refreshLock);
    await probe.hset(keys.refreshLock, 'owner', 'not us');
    expect((await lock.acquire()).state).toBe('unavailable');
    await probe.del(keys.refreshLock);
    await probe.set(keys.refreshLock, 'no-expiry');
    expect((await lock.acquire()).state).toBe('unavailable');
  });

  it('the lock: a token whose release never reached Redis is taken over by the same process', async () => {
    const own = connection();
    await own.onModuleInit();
    const lock = new RefreshLock(own, keys, config, logger);
    const stuck = await lock.acquire();
    const client = defined(own.client, 'the connection’s client after onModuleInit()');
    const ended = once(client, 'end');
    client.disconnect();
    await lock.release(stuck);
    await ended;
    expect(await probe.get(keys.refreshLock)).toBe(stuck.token);
    await client.connect();

    const next = await lock.acquire();

    expect(next.state).toBe('acquired');
    expect(await probe.get(keys.refreshLock)).toBe(next.token);
    expect((await new RefreshLock(connections[1], keys, config, logger).acquire()).state).toBe(
      'busy',
    );
  });

  it('the shared copy: an older copy never replaces a newer one; a foreign value is overwritten', async () => {
    const store = new IoredisKeyvStore(connections[0]);
    const copy = (fetchedAt: string) =>
      JSON.stringify({ value: { fetchedAt, data: [] }, expires: null });

    await store.set(keys.numbers, copy('2026-11-28T10:00:02.000Z'), 60_000);
    await store.set(keys.numbers, copy('2026-11-28T10:00:01.000Z'), 60_000);
    expect(await store.get(keys.numbers)).toBe(copy('2026-11-28T10:00:02.000Z'));
    await store.set(keys.numbers, copy('2026-11-28T10:00:03.000Z'), 60_000);
    expect(await store.get(keys.numbers)).toBe(copy('2026-11-28T10:00:03.000Z'));
    expect(await probe.pttl(keys.numbers)).toBeGreaterThan(50_000);

    await probe.del(keys.numbers);
    await probe.hset(keys.numbers, 'field', 'foreign');
    await expect(store.get(keys.numbers)).rejects.toThrow(/WRONGTYPE/);
    await store.set(keys.numbers, copy('2026-11-28T10:00:01.000Z'), 60_000);
    expect(await store.get(keys.numbers)).toBe(copy('2026-11-28T10:00:01.000Z'));
    await probe.set(keys.numbers, 'not json');
    await store.set(keys.numbers, copy('2026-11-28T10:00:01.000Z'), 60_000);
    expect(await store.get(keys.numbers)).toBe(copy('2026-11-28T10:00:01.000Z'));
  });
});
