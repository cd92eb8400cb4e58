import { Redis } from 'ioredis';
import { SuperfoneStandIn } from '../tools/superfone-stand-in/superfone-stand-in';
import { KEYS } from './support/client-keys.fixture';
import { defined } from './support/defined';
import { Harness, startHarness, startSharedStandIn, testRedisUrl } from './support/test-app';
import { eventually, until } from './support/timing';

/** GET /numbers/available on `h` through the generated client, as a numbers:read app. */
const list = (h: Harness) => h.client(KEYS.reader).GET('/numbers/available');
/** The fetch time of a list answer. */
const fetchedAt = ({ data }: Awaited<ReturnType<typeof list>>) =>
  defined(data, 'the list').meta.fetchedAt;

/**
 * Three instances of one deployment (same key prefix, same Redis) in this process, called through
 * the generated client.
 */
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
    expect((await list(first)).response.status).toBe(200);
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

      const { response } = await list(second);

      expect(response.status).toBe(200);
      expect(response.headers.get('cache-status')).toMatch(/^superfone-bff; hit; ttl=\d+$/);
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

    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => list(replicas[i % 3])));

    expect(answers.map((a) => a.response.status)).toEqual(Array(300).fill(200));
    expect(standIn.calls).toBe(1);
    expect(new Set(answers.map(fetchedAt)).size).toBe(1);
  });

  it('make one upstream call when a copy turns stale on all of them at once', async () => {
    await startReplicas({ CACHE_TTL_SECONDS: '1' });
    const warm = await Promise.all(replicas.map(list));
    expect(warm.map((a) => a.response.status)).toEqual([200, 200, 200]);
    expect(standIn.calls).toBe(1);
    const warmAt = Date.parse(fetchedAt(warm[0]));
    await until(warmAt + 1000);
    standIn.setBehaviour({ kind: 'ok', delayMs: 150 });

    const stale = await Promise.all(Array.from({ length: 90 }, (_, i) => list(replicas[i % 3])));

    // Every answer is immediate: the stale copy, or (for requests processed after the winner's
    // refresh landed) the new one. None waits for Superfone.
    const statuses = stale.map((a) => a.response.headers.get('cache-status'));
    expect(statuses).toEqual(
      Array(90).fill(expect.stringMatching(/^superfone-bff; hit; ttl=-?\d+(; detail=stale)?$/)),
    );
    expect(statuses.filter((s) => s?.endsWith('detail=stale')).length).toBeGreaterThan(0);
    await standIn.waitForCalls(2);
    for (const replica of replicas) {
      await eventually(async () => {
        const { response } = await list(replica);
        const status = response.headers.get('cache-status') ?? '';
        return /; hit; ttl=\d+$/.test(status) ? response : undefined;
      }, 'every replica to pick up the new copy');
    }
    expect(standIn.calls).toBe(2);
  });
});
