import { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { KEYS } from './support/client-keys.fixture';
import { parseCachedCopy } from './support/bodies';
import { defined } from './support/defined';
import {
  Harness,
  SERVER_KEY,
  startHarness,
  startSharedStandIn,
  testRedisUrl,
} from './support/test-app';
import { eventually } from './support/timing';

/** GET /numbers/available on `h` through the generated client, as a numbers:read app. */
const list = (h: Harness) => h.client(KEYS.reader).GET('/numbers/available');

describe('the shared cache in Redis', () => {
  let redis: Redis;
  const harnesses: Harness[] = [];

  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.close()));
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('stores the validated, normalized list with its fetch time under the prefix and a key fingerprint', async () => {
    const h = await startHarness();
    harnesses.push(h);

    const body = defined((await list(h)).data, 'the list');

    const fingerprint = createHash('sha256').update(SERVER_KEY).digest('hex').slice(0, 16);
    // The shared write, then the refresh lock's release, follow the answer (waiting requests are
    // not held for them): in the end the value is there and the lock is gone.
    const keys = await eventually(async () => {
      const found = await redis.keys(`${h.keyPrefix}*available-numbers*`);
      return found.length === 1 && !found[0].endsWith('lock') ? found : undefined;
    }, 'the copy in Redis and the lock released');
    // The fingerprint is a Redis Cluster hash tag: the copy and its refresh lock share a slot.
    expect(keys).toEqual([`${h.keyPrefix}{${fingerprint}}:available-numbers`]);
    const stored = await redis.get(keys[0]);
    if (stored === null) throw new Error(`${keys[0]} vanished`);
    expect(stored).not.toContain(SERVER_KEY);
    expect(parseCachedCopy(stored).value).toEqual({
      fetchedAt: body.meta.fetchedAt,
      data: body.data,
    });
    // Kept for the fresh and the stale window (30 s + 300 s by default).
    const ttl = await redis.pttl(keys[0]);
    expect(ttl).toBeGreaterThan(320_000);
    expect(ttl).toBeLessThanOrEqual(330_000);
  });

  it('lets a second instance on the same Redis answer from it without calling Superfone', async () => {
    const standIn = await startSharedStandIn();
    try {
      const first = await startHarness({ standIn });
      harnesses.push(first);
      const second = await startHarness({ standIn, keyPrefix: first.keyPrefix });
      harnesses.push(second);

      const a = await list(first);
      await eventually(
        async () =>
          (await redis.keys(`${first.keyPrefix}*available-numbers`)).length === 1
            ? true
            : undefined,
        'the copy in Redis',
      );
      const b = await list(second);

      expect(b.response.status).toBe(200);
      expect(standIn.calls).toBe(1);
      expect(b.data?.meta.fetchedAt).toBe(defined(a.data, 'the first list').meta.fetchedAt);
      expect(b.response.headers.get('cache-status')).toMatch(/; hit/);
    } finally {
      await standIn.stop();
    }
  });

  it('keeps deployments with different Superfone keys apart', async () => {
    const h = await startHarness();
    harnesses.push(h);
    const other = await startHarness({
      keyPrefix: h.keyPrefix,
      env: { SUPERFONE_API_KEY: 'another-deployments-key' },
    });
    harnesses.push(other);

    await list(h);
    await eventually(
      async () =>
        (await redis.keys(`${h.keyPrefix}*available-numbers`)).length === 1 ? true : undefined,
      'the first copy in Redis',
    );
    const { response } = await list(other);

    // The other deployment's key is not the one its stand-in (owned by `other`) accepts: it must
    // have asked Superfone itself rather than reuse the first deployment's entry.
    expect(response.status).toBe(502);
    expect(other.standIn.calls).toBe(1);
    expect(await redis.keys(`${h.keyPrefix}*available-numbers`)).toHaveLength(1);
  });

  it('serves from the in-process cache alone without REDIS_URL', async () => {
    const h = await startHarness({ withoutRedis: true });
    harnesses.push(h);

    const first = await list(h);
    const second = await list(h);

    expect([first.response.status, second.response.status]).toEqual([200, 200]);
    expect(h.standIn.calls).toBe(1);
    expect(await redis.keys(`${h.keyPrefix}*`)).toEqual([]);
  });
});
