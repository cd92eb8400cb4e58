import { expect } from '@jest/globals';
import { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { OwnedRedis, startOwnedRedis } from './support/redis-server';
import { KEYS } from './support/client-keys.fixture';
import { parseLogLines } from './support/bodies';
import { Harness, SERVER_KEY, startHarness } from './support/test-app';
import { eventually } from './support/timing';

/** GET /numbers/available on `h` through the generated client, as a numbers:read app; its answer. */
const list = async (h: Harness) => (await h.client(KEYS.reader).GET('/numbers/available')).response;
const fingerprint = createHash('sha256').update(SERVER_KEY).digest('hex').slice(0, 16);

/** Redis's own count of errors it answered with, by kind (INFO errorstats). */
async function errorCount(redis: Redis, kind: string): Promise<number> {
  const info = await redis.info('errorstats');
  return Number(new RegExp(`errorstat_${kind}:count=(\\d+)`).exec(info)?.[1] ?? 0);
}

/** Redis that answers, but not as the service expects: a replica after failover, foreign values. */
describe('a Redis that answers wrongly', () => {
  const owned: OwnedRedis[] = [];
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
    await Promise.all(owned.splice(0).map((o) => o.stop()));
  });

  it('READONLY (an old master demoted to replica): one bounded attempt per operation, answers from upstream, then on', async () => {
    const master = await startOwnedRedis();
    const replica = await startOwnedRedis();
    owned.push(master, replica);
    const admin = new Redis(replica.url);
    try {
      // A replica refuses writes from the moment it is one, synced or not.
      await admin.replicaof('127.0.0.1', master.port);
      const app = await startHarness({ redisUrl: replica.url, env: { CACHE_TTL_SECONDS: '1' } });
      h = app;

      const started = performance.now();
      const first = await list(app);
      const firstMs = performance.now() - started;
      const rest = await Promise.all(Array.from({ length: 50 }, () => list(app)));

      expect(first.status).toBe(200);
      expect(rest.map((r) => r.status)).toEqual(Array(50).fill(200));
      // Bounded: the lock's READONLY is answered at once; no loop waits for a lock that never comes.
      expect(firstMs).toBeLessThan(1000);
      expect(app.standIn.calls).toBe(1);
      // A reconnect per READONLY, and while reconnecting nothing is sent: a handful of rejected writes, not thousands.
      const readonly = await errorCount(admin, 'READONLY');
      expect(readonly).toBeGreaterThan(0);
      expect(readonly).toBeLessThanOrEqual(5);
    } finally {
      admin.disconnect();
    }
  });

  it('a foreign value under the copy, the lock and a rate-limit key: one bounded attempt, then the copy key is healed', async () => {
    const redis = await startOwnedRedis();
    owned.push(redis);
    const admin = new Redis(redis.url);
    try {
      const prefix = 'foreign-test:';
      const copyKey = `${prefix}{${fingerprint}}:available-numbers`;
      await admin.hset(copyKey, 'not', 'ours');
      await admin.hset(`${copyKey}:refresh-lock`, 'owner', 'someone else');
      await admin.hset(`${prefix}rate:reader-app`, 'not', 'a counter');
      const app = await startHarness({ redisUrl: redis.url, keyPrefix: prefix });
      h = app;

      const started = performance.now();
      const first = await list(app);
      const firstMs = performance.now() - started;
      const rest = await Promise.all(Array.from({ length: 50 }, () => list(app)));

      expect(first.status).toBe(200);
      expect(firstMs).toBeLessThan(1000);
      expect(rest.map((r) => r.status)).toEqual(Array(50).fill(200));
      expect(app.standIn.calls).toBe(1);
      await eventually(
        async () => ((await admin.type(copyKey)) === 'string' ? true : undefined),
        'the copy written over the foreign value',
      );
      // The lock's foreign value is reported and left alone; the rate-limit key's makes counting local.
      expect(await admin.type(`${copyKey}:refresh-lock`)).toBe('hash');
      const wrongType = await errorCount(admin, 'WRONGTYPE');
      expect(wrongType).toBeGreaterThan(0);
      expect(wrongType).toBeLessThanOrEqual(5);
      const warnings = parseLogLines(app.logs).filter((l) => l.level === 40);
      expect(warnings.length).toBeLessThanOrEqual(4);
      expect(warnings).toContainEqual(
        expect.objectContaining({
          msg: expect.stringContaining(
            'the refresh lock key holds a value this service did not write',
          ),
        }),
      );
    } finally {
      admin.disconnect();
    }
  });
});
