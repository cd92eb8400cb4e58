import { Redis } from 'ioredis';
import { SuperfoneStandIn } from '../tools/superfone-stand-in/superfone-stand-in';
import { KEYS } from './support/client-keys.fixture';
import { readNumbers } from './support/bodies';
import {
  bearer,
  Harness,
  startHarness,
  startSharedStandIn,
  testRedisUrl,
} from './support/test-app';
import { eventually, until } from './support/timing';

/** Three instances of one deployment (same key prefix, same Redis) in this process. */
describe('replicas sharing a Redis', () => {
  let standIn: SuperfoneStandIn;
  let replicas: Harness[];

  async function startReplicas(env: Record<string, string> = {}): Promise<void> {
    const first = await startHarness({ standIn, env });
    replicas = [
      first,
      ...(await Promise.all(
        [1, 2].map(() => startHarness({ standIn, env, keyPrefix: first.keyPrefix })),
      )),
    ];
  }

  beforeEach(async () => {
    standIn = await startSharedStandIn();
  });
  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await standIn.stop();
  });

  it('answer the first request of a newly started one from the copy in Redis, and leave no refresh lock behind', async () => {
    // A long Superfone timeout makes the lock's own expiry (timeout + 1 s) far later than the check below.
    const env = { SUPERFONE_TIMEOUT_MS: '10000' };
    const first = await startHarness({ standIn, env });
    replicas = [first];
    expect((await first.get('/numbers/available', bearer(KEYS.reader))).status).toBe(200);
    const redis = new Redis(testRedisUrl());
    try {
      const keys = async (pattern: string) => redis.keys(`${first.keyPrefix}*${pattern}`);
      const settled = async () =>
        (await keys('available-numbers')).length === 1 && (await keys('refresh-lock')).length === 0;
      await eventually(
        async () => ((await settled()) ? true : undefined),
        'the copy in Redis, the lock released',
      );
      const second = await startHarness({ standIn, env, keyPrefix: first.keyPrefix });
      replicas.push(second);

      const res = await second.get('/numbers/available', bearer(KEYS.reader));

      expect(res.status).toBe(200);
      expect(res.headers.get('cache-status')).toMatch(/^superfone-bff; hit; ttl=\d+$/);
      expect(standIn.calls).toBe(1);
      // Its local miss asked for the lock together with the copy; having found the copy, it gives the lock back.
      await eventually(
        async () => ((await keys('refresh-lock')).length === 0 ? true : undefined),
        'the refresh lock released',
        3000,
      );
    } finally {
      redis.disconnect();
    }
  });

  it('make one upstream call for a concurrent cold burst spread across them', async () => {
    await startReplicas();
    standIn.setBehaviour({ kind: 'ok', delayMs: 100 });

    const responses = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        replicas[i % 3].get('/numbers/available', bearer(KEYS.reader)),
      ),
    );

    expect(responses.map((r) => r.status)).toEqual(Array(300).fill(200));
    expect(standIn.calls).toBe(1);
    const fetchedAt = new Set(
      await Promise.all(responses.map(async (r) => (await readNumbers(r)).meta.fetchedAt)),
    );
    expect(fetchedAt.size).toBe(1);
  });

  it('make one upstream call when a copy turns stale on all of them at once', async () => {
    await startReplicas({ CACHE_TTL_SECONDS: '1' });
    const warm = await Promise.all(
      replicas.map((r) => r.get('/numbers/available', bearer(KEYS.reader))),
    );
    expect(warm.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(standIn.calls).toBe(1);
    const fetchedAt = Date.parse((await readNumbers(warm[0])).meta.fetchedAt);
    await until(fetchedAt + 1000);
    standIn.setBehaviour({ kind: 'ok', delayMs: 150 });

    const stale = await Promise.all(
      Array.from({ length: 90 }, (_, i) =>
        replicas[i % 3].get('/numbers/available', bearer(KEYS.reader)),
      ),
    );

    // Every answer is immediate: the stale copy, or (for requests processed after the winner's
    // refresh landed) the new one. None waits for Superfone.
    const statuses = stale.map((r) => r.headers.get('cache-status'));
    expect(statuses).toEqual(
      Array(90).fill(expect.stringMatching(/^superfone-bff; hit; ttl=-?\d+(; detail=stale)?$/)),
    );
    expect(statuses.filter((s) => s?.endsWith('detail=stale')).length).toBeGreaterThan(0);
    await standIn.waitForCalls(2);
    for (const replica of replicas) {
      await eventually(async () => {
        const res = await replica.get('/numbers/available', bearer(KEYS.reader));
        return /; hit; ttl=\d+$/.test(res.headers.get('cache-status') ?? '') ? res : undefined;
      }, 'every replica to pick up the new copy');
    }
    expect(standIn.calls).toBe(2);
  });
});
