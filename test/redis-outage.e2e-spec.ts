import { Redis } from 'ioredis';
import { RedisConnection } from '../src/redis/redis.connection';
import { freePort } from '../tools/free-port';
import { OwnedRedis, startOwnedRedis } from './support/redis-server';
import { KEYS } from './support/client-keys.fixture';
import { parseCachedCopy, parseLogLines } from './support/bodies';
import { defined } from './support/defined';
import { Harness, startHarness } from './support/test-app';
import { eventually, until } from './support/timing';

/** A request that hangs fails here instead of passing slowly. */
const noHang = () => ({ signal: AbortSignal.timeout(1000) });
/** GET /numbers/available on `h` through the generated client, as a numbers:read app. */
const list = (h: Harness, init: { signal?: AbortSignal } = {}) =>
  h.client(KEYS.reader).GET('/numbers/available', init);
/** POST /numbers/available/refresh on `h` through the generated client. */
const refresh = (h: Harness, init: { signal?: AbortSignal } = {}) =>
  h.client(KEYS.refresher).POST('/numbers/available/refresh', init);

describe('when Redis fails', () => {
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  describe('mid-run (a redis-server owned by this test)', () => {
    let owned: OwnedRedis;

    beforeEach(async () => {
      owned = await startOwnedRedis();
    });
    afterEach(async () => {
      await owned.stop();
    });

    it('keeps answering from the in-process tier and upstream, then uses Redis again when it returns', async () => {
      h = await startHarness({ redisUrl: owned.url, env: { CACHE_TTL_SECONDS: '1' } });
      const { keyPrefix } = h;
      const first = defined((await list(h)).data, 'the list');
      const probe = new Redis(owned.url);
      await eventually(
        async () =>
          (await probe.keys(`${keyPrefix}*available-numbers`)).length === 1 ? true : undefined,
        'the copy in Redis',
      );
      probe.disconnect();

      await owned.stop();
      const { response: hit } = await list(h, noHang());
      expect(hit.status).toBe(200);
      expect(hit.headers.get('cache-status')).toMatch(/; hit;/);

      // Past the TTL the copy is stale: served at once, refreshed from upstream without Redis.
      await until(Date.parse(first.meta.fetchedAt) + 1000);
      const stale = await list(h, noHang());
      expect(stale.response.status).toBe(200);
      await h.standIn.waitForCalls(2);
      const refreshedWithoutRedis = await refresh(h, noHang());
      expect(refreshedWithoutRedis.response.status).toBe(200);

      await owned.start();
      const connection = h.app.get(RedisConnection);
      await eventually(
        () => (connection.isReady ? true : undefined),
        'the app to reconnect to Redis',
      );
      const refreshed = await refresh(h);
      expect(refreshed.response.status).toBe(200);
      const fetchedAt = defined(refreshed.data, 'the refreshed list').meta.fetchedAt;
      const again = new Redis(owned.url);
      const stored = await eventually(async () => {
        const value = await again.get(
          (await again.keys(`${keyPrefix}*available-numbers`))[0] ?? 'none',
        );
        return value !== null && parseCachedCopy(value).value.fetchedAt === fetchedAt
          ? value
          : undefined;
      }, 'the refreshed copy written to the restarted Redis');
      again.disconnect();
      expect(parseCachedCopy(stored).value.fetchedAt).toBe(fetchedAt);
    });
  });

  it('at boot: logs loudly, naming the host but never the password, and still serves', async () => {
    const port = await freePort();
    h = await startHarness({ redisUrl: `redis://:hunter2-password@127.0.0.1:${port}` });

    const { response } = await list(h, noHang());

    expect(response.status).toBe(200);
    const bootFailure = parseLogLines(h.logs).find((l) =>
      l.msg?.includes('failed the boot write/read probe'),
    );
    expect(bootFailure).toMatchObject({ level: 50, redisHost: `127.0.0.1:${port}` });
    expect(bootFailure?.msg).toContain('REDIS_URL');
    expect(h.logs.join('\n')).not.toContain('hunter2');
  });
});
