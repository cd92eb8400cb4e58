import { expect } from '@jest/globals';
import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { FakeRedis } from '../../test/support/fake-redis';
import { sha256 } from '../auth/client-keys';
import { loadConfig } from '../config/load-config';
import { AppLogger } from '../logging/app-logger';
import { Metrics } from '../metrics/metrics';
import type { RedisClient } from '../redis/redis-client.factory';
import { PAUSE_AFTER_TIMEOUTS_MS } from '../redis/redis-gate';
import { RedisConnection } from '../redis/redis.connection';
import type { SuperfoneClient } from '../superfone/superfone.client';
import { UpstreamErrorResponse } from '../superfone/upstream.errors';
import { CacheKeys } from './cache-keys';
import { IoredisKeyvStore } from './ioredis-keyv.store';
import { NumbersCacheService, REFRESH_RETRY_AFTER_FAILURE_MS } from './numbers-cache.service';
import { RefreshLock } from './refresh-lock';
import { SharedCopies } from './shared-copies';
import { fakeClockDeadline } from '../../test/support/fake-clock';

/**
 * The cold path's interleavings, on jest's fake clock and a fake Redis: every replica here is the
 * real NumbersCacheService, SharedCopies (real cache-manager and Keyv), RefreshLock and
 * RedisConnection; only Redis itself and Superfone are stand-ins.
 */
const TIMEOUT_MS = 50;
const SUPERFONE_TIMEOUT_MS = 1000;
const LOCK_TTL_MS = SUPERFONE_TIMEOUT_MS + 1000;
const TTL_S = 30;
const STALE_S = 300;

const config = loadConfig({
  SUPERFONE_API_KEY: 'server-key',
  CLIENT_KEYS: JSON.stringify([
    { id: 'a', keySha256: sha256('k').toString('hex'), scopes: ['numbers:read'] },
  ]),
  REDIS_URL: 'redis://fake:6379',
  REDIS_COMMAND_TIMEOUT_MS: String(TIMEOUT_MS),
  SUPERFONE_TIMEOUT_MS: String(SUPERFONE_TIMEOUT_MS),
  CACHE_TTL_SECONDS: String(TTL_S),
  CACHE_STALE_SECONDS: String(STALE_S),
  LOG_LEVEL: 'warn',
});
/**
 * Made in beforeEach rather than when the file loads: Stryker takes code that runs at import for
 * "static" mutants, which it must test against every spec.
 */
let keys: CacheKeys;

/** Superfone as the cache sees it: each call answers after `delayMs`, fails, or never answers. */
class FakeUpstream {
  calls = 0;
  behaviour: { kind: 'ok'; delayMs: number } | { kind: 'fail' } | { kind: 'hang' } = {
    kind: 'ok',
    delayMs: 100,
  };

  fetchAvailableNumbers = (): Promise<
    { id: number; voipNumber: string; provider: string; status: string }[]
  > => {
    this.calls++;
    const call = this.calls;
    const behaviour = this.behaviour;
    if (behaviour.kind === 'hang') return new Promise(() => undefined);
    if (behaviour.kind === 'fail') return Promise.reject(new UpstreamErrorResponse(500));
    return new Promise((resolve) =>
      setTimeout(() => {
        resolve([{ id: call, voipNumber: '+918000000001', provider: 'exotel', status: 'ACTIVE' }]);
      }, behaviour.delayMs),
    );
  };
}

interface Replica {
  readonly cache: NumbersCacheService;
  readonly logs: string[];
  readonly metrics: Metrics;
}

function replica(redis: FakeRedis | undefined, upstream: FakeUpstream): Replica {
  const logs: string[] = [];
  const logger = new AppLogger(config, { write: (line: string) => logs.push(line) });
  const metrics = new Metrics();
  const connection = new RedisConnection(
    redis as unknown as RedisClient | undefined,
    config,
    metrics,
    logger,
  );
  const store = redis
    ? new Keyv({
        store: new IoredisKeyvStore(connection),
        useKeyPrefix: false,
        throwOnErrors: true,
      })
    : new Keyv();
  const shared = new SharedCopies(createCache({ stores: [store] }), keys, connection, config);
  const lock = new RefreshLock(connection, keys, config, logger);
  return {
    cache: new NumbersCacheService(shared, upstream as unknown as SuperfoneClient, lock, metrics),
    logs,
    metrics,
  };
}

/** Settles a promise while advancing the fake clock; records when it settled. */
function track<T>(promise: Promise<T>): { settledAt?: number; value?: T; error?: unknown } {
  const state: { settledAt?: number; value?: T; error?: unknown } = {};
  promise.then(
    (value) => Object.assign(state, { value, settledAt: Date.now() }),
    (error: unknown) => Object.assign(state, { error, settledAt: Date.now() }),
  );
  return state;
}

const T0 = Date.parse('2026-11-28T10:00:00.000Z');

describe('NumbersCacheService cold path (fake clock, fake Redis)', () => {
  let redis: ReturnType<typeof FakeRedis.create>;
  let upstream: FakeUpstream;

  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    keys = new CacheKeys(config.redis.keyPrefix, config.superfone.apiKey);
    redis = FakeRedis.create();
    upstream = new FakeUpstream();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('a cold GET and a forced refresh together: one upstream call, both answered when it returns', async () => {
    const { cache } = replica(redis, upstream);

    const get = track(cache.read());
    const post = track(cache.forceRefresh());
    await jest.advanceTimersByTimeAsync(100);

    expect(upstream.calls).toBe(1);
    expect(get.settledAt).toBe(T0 + 100);
    expect(post.settledAt).toBe(T0 + 100);
    expect(get.value).toMatchObject({ outcome: 'miss' });
    expect(post.value).toMatchObject({ outcome: 'refresh', coalesced: true });
    await jest.advanceTimersByTimeAsync(10);
    expect(redis.raw(keys.refreshLock)).toBeUndefined();
  });

  it('a forced refresh after a miss that found the shared copy goes to Superfone itself', async () => {
    const first = replica(redis, upstream);
    await Promise.all([first.cache.read(), jest.advanceTimersByTimeAsync(100)]);
    await jest.advanceTimersByTimeAsync(10);
    const second = replica(redis, upstream);

    const get = track(second.cache.read());
    const post = track(second.cache.forceRefresh());
    await jest.advanceTimersByTimeAsync(100);

    expect(get.value).toMatchObject({ outcome: 'miss' });
    expect(post.value).toMatchObject({ outcome: 'refresh' });
    expect(upstream.calls).toBe(2);
    expect(post.value?.entry.fetchedAt).toBe(T0 + 210);
  });

  it('stale hits answer at once while one refresh runs, and the new copy replaces the old', async () => {
    const { cache } = replica(redis, upstream);
    await Promise.all([cache.read(), jest.advanceTimersByTimeAsync(100)]);
    jest.setSystemTime(T0 + 100 + TTL_S * 1000);

    const stale = await Promise.all(Array.from({ length: 50 }, () => cache.read()));

    expect(stale.every((r) => r.outcome === 'stale')).toBe(true);
    await jest.advanceTimersByTimeAsync(0);
    expect(upstream.calls).toBe(2);
    await jest.advanceTimersByTimeAsync(100);
    expect(await cache.read()).toMatchObject({
      outcome: 'hit',
      entry: { fetchedAt: T0 + 100 + TTL_S * 1000 + 100 },
    });
  });

  it('waits a second after a failed refresh before stale hits start another', async () => {
    const { cache } = replica(redis, upstream);
    await Promise.all([cache.read(), jest.advanceTimersByTimeAsync(100)]);
    jest.setSystemTime(T0 + 100 + TTL_S * 1000);
    upstream.behaviour = { kind: 'fail' };

    expect(await cache.read()).toMatchObject({ outcome: 'stale', refreshFailed: false });
    await jest.advanceTimersByTimeAsync(1);
    expect(upstream.calls).toBe(2);
    await jest.advanceTimersByTimeAsync(REFRESH_RETRY_AFTER_FAILURE_MS - 2);
    expect(await cache.read()).toMatchObject({ outcome: 'stale', refreshFailed: true });
    expect(upstream.calls).toBe(2);

    await jest.advanceTimersByTimeAsync(1);
    await cache.read();
    await jest.advanceTimersByTimeAsync(1);
    expect(upstream.calls).toBe(3);
  });

  it('a replica that lost the election waits for the winner and makes no call of its own', async () => {
    const winner = replica(redis, upstream);
    const loser = replica(redis, upstream);

    const a = track(winner.cache.read());
    await jest.advanceTimersByTimeAsync(1);
    const b = track(loser.cache.read());
    await jest.advanceTimersByTimeAsync(200);

    expect(upstream.calls).toBe(1);
    expect(a.value?.entry.fetchedAt).toBe(T0 + 100);
    expect(b.value?.entry.fetchedAt).toBe(T0 + 100);
    // Answered within one poll of the winner's shared write.
    expect(b.settledAt).toBeLessThanOrEqual(T0 + 100 + 2 * 20);
  });

  it('when the winner dies holding the lock, the others fetch themselves once the lock expires', async () => {
    upstream.behaviour = { kind: 'hang' };
    const dead = replica(redis, upstream);
    void dead.cache.read();
    await jest.advanceTimersByTimeAsync(1);
    upstream.behaviour = { kind: 'ok', delayMs: 100 };
    const survivor = replica(redis, upstream);

    const answer = track(survivor.cache.read());
    await jest.advanceTimersByTimeAsync(LOCK_TTL_MS + 200);

    expect(upstream.calls).toBe(2);
    expect(answer.value).toMatchObject({ outcome: 'miss' });
    expect(answer.settledAt).toBeLessThanOrEqual(T0 + 1 + LOCK_TTL_MS + 20 + 100);
  });

  it('a background refresh whose winner never delivers fetches itself once the stale copy has expired', async () => {
    const a = replica(redis, upstream);
    await Promise.all([a.cache.read(), jest.advanceTimersByTimeAsync(100)]);
    // Another replica takes the lock and hangs in Superfone.
    upstream.behaviour = { kind: 'hang' };
    jest.setSystemTime(T0 + 100 + (TTL_S + STALE_S) * 1000 - 1000);
    await redis.superfoneBffAcquireLock(keys.refreshLock, 'the-other-replica', LOCK_TTL_MS);
    upstream.behaviour = { kind: 'ok', delayMs: 100 };

    expect(await a.cache.read()).toMatchObject({ outcome: 'stale' });
    await jest.advanceTimersByTimeAsync(1500);
    // The stale copy has expired meanwhile: a request joins the background refresh.
    const joined = track(a.cache.read());
    await jest.advanceTimersByTimeAsync(LOCK_TTL_MS);

    expect(joined.value).toMatchObject({ outcome: 'miss', coalesced: true });
    expect(joined.value?.entry.isUsable(Date.now())).toBe(true);
    expect(upstream.calls).toBe(2);
  });

  it('a lock that expired under a slow owner is not freed by that owner', async () => {
    upstream.behaviour = { kind: 'ok', delayMs: LOCK_TTL_MS + 500 };
    const slow = replica(redis, upstream);
    void slow.cache.read();
    await jest.advanceTimersByTimeAsync(LOCK_TTL_MS + 1);
    // The slow owner's lock has expired: a forced refresh elsewhere takes a lock of its own.
    upstream.behaviour = { kind: 'ok', delayMs: 1000 };
    const other = replica(redis, upstream);
    void other.cache.forceRefresh();
    await jest.advanceTimersByTimeAsync(1);
    const held = redis.raw(keys.refreshLock);
    expect(held).toBeDefined();

    await jest.advanceTimersByTimeAsync(600);

    expect(redis.raw(keys.refreshLock)).toBe(held);
  });

  it('an older copy written late never replaces a newer one in Redis', async () => {
    const a = replica(redis, upstream);
    const b = replica(redis, upstream);
    await Promise.all([a.cache.read(), jest.advanceTimersByTimeAsync(100)]);
    await jest.advanceTimersByTimeAsync(10);
    const older = redis.raw(keys.numbers);
    await Promise.all([b.cache.forceRefresh(), jest.advanceTimersByTimeAsync(100)]);
    await jest.advanceTimersByTimeAsync(10);
    const newer = redis.raw(keys.numbers);
    expect(newer).not.toEqual(older);

    // A replica whose write of the first copy was delayed (a Redis deadline, a retry) writes it now.
    await redis.superfoneBffSetUnlessNewer(keys.numbers, older, 60_000);

    expect(redis.raw(keys.numbers)).toEqual(newer);
    const c = replica(redis, upstream);
    expect(await c.cache.read()).toMatchObject({ outcome: 'hit', entry: { fetchedAt: T0 + 210 } });
  });

  it('a hung Redis costs a cold miss about two command deadlines, then nothing more is sent to it for a while', async () => {
    redis.mode = { kind: 'hang' };
    const { cache, logs } = replica(redis, upstream);

    const first = track(cache.read());
    await jest.advanceTimersByTimeAsync(2 * fakeClockDeadline(TIMEOUT_MS) + TIMEOUT_MS / 5 + 100);

    expect(first.value).toMatchObject({ outcome: 'miss' });
    expect(first.settledAt).toBeLessThanOrEqual(
      T0 + 2 * fakeClockDeadline(TIMEOUT_MS) + TIMEOUT_MS / 5 + 100,
    );
    const sentBefore = redis.sent.length;
    const warnings = () =>
      logs
        .filter((l) => l.includes('"level":40'))
        .map((l) => JSON.parse(l) as { msg: string; repeated?: number });
    expect(warnings()).toEqual([
      expect.objectContaining({ msg: 'redis command failed', operation: 'lock' }),
    ]);
    jest.setSystemTime(T0 + 1000 + TTL_S * 1000);
    await Promise.all(Array.from({ length: 200 }, () => cache.read()));
    await jest.advanceTimersByTimeAsync(200);
    // 200 stale hits after the pause: one background refresh, whose lock attempt is the one probe.
    expect(redis.sent.length - sentBefore).toBeLessThanOrEqual(2);
    expect(upstream.calls).toBe(2);
    // Held by the hung server: the miss's lock and read (an attempt and a retry each) and the one probe.
    expect(redis.unanswered.length).toBe(5);
    // One line per summary interval, with the count of what it left out.
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatchObject({ repeated: expect.any(Number) });
  });

  it('a Redis answering after its deadline: the answer is not waited for, and one probe follows the pause', async () => {
    redis.mode = { kind: 'late', delayMs: 3 * TIMEOUT_MS };
    const { cache } = replica(redis, upstream);

    const first = track(cache.read());
    await jest.advanceTimersByTimeAsync(300);
    expect(first.value).toMatchObject({ outcome: 'miss' });
    expect(first.settledAt).toBeLessThanOrEqual(
      T0 + 2 * fakeClockDeadline(TIMEOUT_MS) + TIMEOUT_MS / 5 + 100,
    );

    redis.mode = { kind: 'ok' };
    await jest.advanceTimersByTimeAsync(PAUSE_AFTER_TIMEOUTS_MS);
    await Promise.all([cache.forceRefresh(), jest.advanceTimersByTimeAsync(200)]);
    const second = replica(redis, upstream);
    // The copy reached Redis once the pause ended: a new replica's first request is a hit from it.
    expect(
      await Promise.all([second.cache.read(), jest.advanceTimersByTimeAsync(10)]).then(([r]) => r),
    ).toMatchObject({ outcome: 'hit' });
  });

  it('a foreign value under the lock or the copy: one bounded attempt, then the replica serves on its own', async () => {
    redis.putForeign(keys.refreshLock, { owner: 'someone else' });
    redis.putForeign(keys.numbers, { not: 'ours' });
    const { cache } = replica(redis, upstream);

    const answer = track(cache.read());
    await jest.advanceTimersByTimeAsync(100);

    expect(answer.value).toMatchObject({ outcome: 'miss' });
    expect(answer.settledAt).toBe(T0 + 100);
    expect(upstream.calls).toBe(1);
    await jest.advanceTimersByTimeAsync(10);
    // The copy's key is ours to heal: the write replaced the foreign value.
    expect(typeof redis.raw(keys.numbers)).toBe('string');
  });

  it('without Redis, every rule holds in one process', async () => {
    const { cache } = replica(undefined, upstream);

    const answers = Array.from({ length: 20 }, () => track(cache.read()));
    await jest.advanceTimersByTimeAsync(100);

    expect(upstream.calls).toBe(1);
    expect(answers.every((a) => a.settledAt === T0 + 100)).toBe(true);
  });
  it('a cold read that joins another one says it was coalesced; the one that started the load does not', async () => {
    const { cache } = replica(redis, upstream);

    const first = track(cache.read());
    const second = track(cache.read());
    await jest.advanceTimersByTimeAsync(100);

    expect(first.value).toMatchObject({ outcome: 'miss', coalesced: false });
    expect(second.value).toMatchObject({ outcome: 'miss', coalesced: true });
  });

  it('a forced refresh with nothing running is not coalesced', async () => {
    const { cache } = replica(redis, upstream);

    const post = track(cache.forceRefresh());
    await jest.advanceTimersByTimeAsync(100);

    expect(post.value).toMatchObject({
      outcome: 'refresh',
      coalesced: false,
      entry: { fetchedAt: T0 + 100 },
    });
  });

  it('a new replica whose first read finds a stale shared copy answers stale and refreshes it in the background', async () => {
    const first = replica(redis, upstream);
    await Promise.all([first.cache.read(), jest.advanceTimersByTimeAsync(100)]);
    await jest.advanceTimersByTimeAsync(10);
    jest.setSystemTime(T0 + 100 + TTL_S * 1000);
    const second = replica(redis, upstream);

    const answer = await second.cache.read();
    await jest.advanceTimersByTimeAsync(100);

    expect(answer).toMatchObject({ outcome: 'stale', entry: { fetchedAt: T0 + 100 } });
    expect(upstream.calls).toBe(2);
    expect(await second.cache.read()).toMatchObject({
      outcome: 'hit',
      entry: { fetchedAt: T0 + 100 + TTL_S * 1000 + 100 },
    });
  });

  it('a background refresh does not settle for a shared copy that is newer than its own but stale too', async () => {
    const a = replica(redis, upstream);
    const b = replica(redis, upstream);
    await Promise.all([a.cache.read(), jest.advanceTimersByTimeAsync(100)]);
    jest.setSystemTime(T0 + 10_000);
    await Promise.all([b.cache.forceRefresh(), jest.advanceTimersByTimeAsync(100)]);
    await jest.advanceTimersByTimeAsync(10);
    // Both copies are stale now; the shared one (b's) is the newer.
    jest.setSystemTime(T0 + 10_100 + TTL_S * 1000);

    expect(await a.cache.read()).toMatchObject({
      outcome: 'stale',
      entry: { fetchedAt: T0 + 100 },
    });
    await jest.advanceTimersByTimeAsync(100);

    expect(upstream.calls).toBe(3);
    expect(await a.cache.read()).toMatchObject({
      outcome: 'hit',
      entry: { fetchedAt: T0 + 10_100 + TTL_S * 1000 + 100 },
    });
  });

  it('a background refresh that finds the lock busy waits for a copy newer than both its own and the shared one', async () => {
    const a = replica(redis, upstream);
    const b = replica(redis, upstream);
    const c = replica(redis, upstream);
    await Promise.all([a.cache.read(), jest.advanceTimersByTimeAsync(100)]);
    jest.setSystemTime(T0 + 10_000);
    await Promise.all([b.cache.forceRefresh(), jest.advanceTimersByTimeAsync(100)]);
    await jest.advanceTimersByTimeAsync(10);
    const staleAt = T0 + 10_100 + TTL_S * 1000;
    jest.setSystemTime(staleAt);
    // c refreshes (slowly) and holds the lock.
    upstream.behaviour = { kind: 'ok', delayMs: 500 };
    const refreshing = track(c.cache.forceRefresh());
    await jest.advanceTimersByTimeAsync(1);

    expect(await a.cache.read()).toMatchObject({
      outcome: 'stale',
      entry: { fetchedAt: T0 + 100 },
    });
    await jest.advanceTimersByTimeAsync(560);

    expect(refreshing.value).toMatchObject({ entry: { fetchedAt: staleAt + 500 } });
    expect(upstream.calls).toBe(3);
    // a took c's copy, not b's stale one.
    expect(await a.cache.read()).toMatchObject({
      outcome: 'hit',
      entry: { fetchedAt: staleAt + 500 },
    });
  });

  it('a background refresh whose winner never delivers keeps serving the stale copy, and calls nobody, while it is usable', async () => {
    const a = replica(redis, upstream);
    await Promise.all([a.cache.read(), jest.advanceTimersByTimeAsync(100)]);
    await jest.advanceTimersByTimeAsync(10);
    jest.setSystemTime(T0 + 100 + TTL_S * 1000);
    await redis.superfoneBffAcquireLock(keys.refreshLock, 'the-other-replica', LOCK_TTL_MS);

    expect(await a.cache.read()).toMatchObject({ outcome: 'stale' });
    await jest.advanceTimersByTimeAsync(LOCK_TTL_MS + 100);

    expect(upstream.calls).toBe(1);
    // The other replica's lock has expired: the next stale hit starts a refresh that takes it.
    expect(await a.cache.read()).toMatchObject({ outcome: 'stale', refreshFailed: false });
    await jest.advanceTimersByTimeAsync(100);
    expect(upstream.calls).toBe(2);
  });

  it('a failed refresh gives the lock back at once: a retry right after it is not kept waiting for itself', async () => {
    upstream.behaviour = { kind: 'fail' };
    const { cache } = replica(redis, upstream);

    const retried = track(
      cache.forceRefresh().catch(() => {
        upstream.behaviour = { kind: 'ok', delayMs: 100 };
        return cache.forceRefresh();
      }),
    );
    await jest.advanceTimersByTimeAsync(100);

    expect(upstream.calls).toBe(2);
    expect(retried.value).toMatchObject({ outcome: 'refresh', entry: { fetchedAt: T0 + 100 } });
    await jest.advanceTimersByTimeAsync(10);
    expect(redis.raw(keys.refreshLock)).toBeUndefined();
  });

  it('a replica waiting for the winner stops polling once Redis hangs, and fetches itself', async () => {
    upstream.behaviour = { kind: 'hang' };
    const winner = replica(redis, upstream);
    void winner.cache.read();
    await jest.advanceTimersByTimeAsync(1);
    upstream.behaviour = { kind: 'ok', delayMs: 100 };
    const waiting = replica(redis, upstream);
    const answer = track(waiting.cache.read());
    await jest.advanceTimersByTimeAsync(50);

    redis.mode = { kind: 'hang' };
    await jest.advanceTimersByTimeAsync(400);

    expect(answer.value).toMatchObject({ outcome: 'miss' });
    expect(answer.settledAt).toBeLessThan(T0 + 400);
    expect(upstream.calls).toBe(2);
  });

  it("publishes the copy's fetch time (seconds) and its age for health reports", async () => {
    const { cache, metrics } = replica(redis, upstream);
    expect(cache.localAgeSeconds).toBeUndefined();

    await Promise.all([cache.read(), jest.advanceTimersByTimeAsync(100)]);
    jest.setSystemTime(T0 + 100 + 2999);

    expect((await metrics.cachedCopyFetchedAt.get()).values[0].value).toBe((T0 + 100) / 1000);
    expect(cache.localAgeSeconds).toBe(2);
  });
  it('while Superfone keeps failing, stale hits start at most one refresh a second', async () => {
    const { cache } = replica(redis, upstream);
    await Promise.all([cache.read(), jest.advanceTimersByTimeAsync(100)]);
    jest.setSystemTime(T0 + 100 + TTL_S * 1000);
    upstream.behaviour = { kind: 'fail' };

    // A stale hit every 50 ms for 5 s.
    for (let i = 0; i < 100; i++) {
      expect(await cache.read()).toMatchObject({ outcome: 'stale' });
      await jest.advanceTimersByTimeAsync(50);
    }

    // The first copy, then one refresh at once and one per second after each failure.
    expect(upstream.calls).toBe(1 + 5);
  });
  it('a forced refresh joining a background refresh whose winner never delivered goes to Superfone itself', async () => {
    const a = replica(redis, upstream);
    await Promise.all([a.cache.read(), jest.advanceTimersByTimeAsync(100)]);
    await jest.advanceTimersByTimeAsync(10);
    jest.setSystemTime(T0 + 100 + TTL_S * 1000);
    await redis.superfoneBffAcquireLock(keys.refreshLock, 'the-other-replica', LOCK_TTL_MS);
    expect(await a.cache.read()).toMatchObject({ outcome: 'stale' });

    const post = track(a.cache.forceRefresh());
    await jest.advanceTimersByTimeAsync(LOCK_TTL_MS + 200);

    expect(upstream.calls).toBe(2);
    expect(post.value).toMatchObject({ outcome: 'refresh' });
    expect(post.value?.entry.isFresh(Date.now())).toBe(true);
  });

  it("a forced refresh joining a load that waits for the winner takes the winner's copy, with no call of its own", async () => {
    const winner = replica(redis, upstream);
    const waiting = replica(redis, upstream);
    void winner.cache.read();
    await jest.advanceTimersByTimeAsync(1);
    void waiting.cache.read();
    await jest.advanceTimersByTimeAsync(1);

    const post = track(waiting.cache.forceRefresh());
    await jest.advanceTimersByTimeAsync(200);

    expect(upstream.calls).toBe(1);
    expect(post.value).toMatchObject({
      outcome: 'refresh',
      coalesced: true,
      entry: { fetchedAt: T0 + 100 },
    });
  });
  it('a forced refresh that finds the lock held by a replica that never delivers fetches itself, not the copy it has', async () => {
    const { cache } = replica(redis, upstream);
    await Promise.all([cache.read(), jest.advanceTimersByTimeAsync(100)]);
    await jest.advanceTimersByTimeAsync(10);
    await redis.superfoneBffAcquireLock(keys.refreshLock, 'the-other-replica', LOCK_TTL_MS);

    const post = track(cache.forceRefresh());
    await jest.advanceTimersByTimeAsync(LOCK_TTL_MS + 200);

    expect(upstream.calls).toBe(2);
    expect(post.value).toMatchObject({ outcome: 'refresh', coalesced: false });
    expect(post.value?.entry.fetchedAt).toBeGreaterThan(T0 + 100);
  });
});
