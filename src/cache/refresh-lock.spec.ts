import { FakeRedis } from '../../test/support/fake-redis';
import { sha256 } from '../auth/client-keys';
import { loadConfig } from '../config/load-config';
import { AppLogger } from '../logging/app-logger';
import { Metrics } from '../metrics/metrics';
import type { RedisClient } from '../redis/redis-client.factory';
import { RedisConnection } from '../redis/redis.connection';
import { CacheKeys } from './cache-keys';
import { RefreshLock } from './refresh-lock';

/** The lock's bookkeeping in this process, against the fake Redis (the Lua runs on real Redis in test/redis-scripts). */
describe(RefreshLock.name, () => {
  const config = loadConfig({
    SUPERFONE_API_KEY: 'server-key',
    CLIENT_KEYS: JSON.stringify([
      { id: 'a', keySha256: sha256('k').toString('hex'), scopes: ['numbers:read'] },
    ]),
    REDIS_URL: 'redis://fake:6379',
    SUPERFONE_TIMEOUT_MS: '1500',
    LOG_LEVEL: 'warn',
  });
  let redis: ReturnType<typeof FakeRedis.create>;
  let keys: CacheKeys;
  let logs: string[];

  beforeEach(() => {
    redis = FakeRedis.create();
    keys = new CacheKeys('p:', 'server-key');
    logs = [];
  });

  function lock(withRedis = true): RefreshLock {
    const client = withRedis ? redis : undefined;
    const logger = new AppLogger(config, { write: (line: string) => logs.push(line) });
    return new RefreshLock(
      new RedisConnection(
        client as unknown as RedisClient | undefined,
        config,
        new Metrics(),
        logger,
      ),
      keys,
      config,
      logger,
    );
  }
  /** The earlier tokens an acquire attempt offered for takeover. */
  const offered = (call: { args: unknown[] } | undefined) => call?.args.slice(3);
  const acquires = () => redis.calls.filter((c) => c.name === 'superfoneBffAcquireLock');

  it('lives one Superfone timeout plus a second, and is set with that expiry under the key', async () => {
    const attempt = await lock().acquire();

    expect(attempt.state).toBe('acquired');
    expect(acquires()[0].args.slice(0, 3)).toEqual([keys.refreshLock, attempt.token, 2500]);
    expect(redis.raw(keys.refreshLock)).toBe(attempt.token);
    expect(logs).toEqual([]);
  });

  it("without Redis, every attempt is this process's own and nothing is sent", async () => {
    const own = lock(false);

    const attempt = await own.acquire();
    await own.release(attempt);

    expect(attempt.state).toBe('acquired');
    expect(redis.sent).toEqual([]);
  });

  it('a replica that found the lock busy sends no release (it never held it)', async () => {
    const holder = await lock().acquire();
    const other = lock();

    const attempt = await other.acquire();
    await other.release(attempt);

    expect(attempt.state).toBe('busy');
    expect(redis.sent.filter((name) => name === 'superfoneBffReleaseLock')).toEqual([]);
    expect(redis.raw(keys.refreshLock)).toBe(holder.token);
  });

  it('a token whose release failed is offered for takeover once, then forgotten', async () => {
    const own = lock();
    const stuck = await own.acquire();
    redis.failing.add('superfoneBffReleaseLock');
    await own.release(stuck);
    redis.failing.clear();

    const next = await own.acquire();
    await own.release(next);
    await own.release(await own.acquire());

    expect(next.state).toBe('acquired');
    expect(offered(acquires()[1])).toEqual([stuck.token]);
    expect(offered(acquires()[2])).toEqual([]);
  });

  it('remembers at most the 8 latest tokens whose release failed (a long outage grows nothing)', async () => {
    const own = lock();
    redis.failing.add('superfoneBffAcquireLock');
    redis.failing.add('superfoneBffReleaseLock');
    const tokens: string[] = [];
    for (let i = 0; i < 11; i++) {
      const attempt = await own.acquire();
      expect(attempt.state).toBe('unavailable');
      tokens.push(attempt.token);
      await own.release(attempt);
    }
    redis.failing.clear();

    await own.acquire();

    expect(offered(acquires().at(-1))).toEqual(tokens.slice(-8));
  });

  it('a foreign value under the lock: unavailable (refresh alone), and an operator is told', async () => {
    redis.putForeign(keys.refreshLock, { owner: 'someone else' });

    const attempt = await lock().acquire();

    expect(attempt.state).toBe('unavailable');
    const warnings = logs.filter((l) => l.includes('"level":40') && l.includes('did not write'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0])).toMatchObject({ key: keys.refreshLock });
  });
});
