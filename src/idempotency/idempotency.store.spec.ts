import { FakeRedis } from '../../test/support/fake-redis';
import { loadConfig } from '../config/load-config';
import { AppLogger } from '../logging/app-logger';
import { Metrics } from '../metrics/metrics';
import type { RedisClient } from '../redis/redis-client.factory';
import { PAUSE_AFTER_TIMEOUTS_MS } from '../redis/redis-gate';
import { RedisConnection } from '../redis/redis.connection';
import { type IdempotentAnswer, parseRecord } from './idempotency.record';
import { IdempotencyStore, type StoreClaim } from './idempotency.store';
import { LocalIdempotencyRecords } from './local-idempotency.records';
import { fakeClockDeadline } from '../../test/support/fake-clock';

/**
 * The store's fallback bookkeeping, against the fake Redis on jest's fake clock (the Lua runs on
 * real Redis in test/idempotency-store.e2e-spec.ts, which also covers the plain paths).
 */
describe(IdempotencyStore.name, () => {
  const TIMEOUT_MS = 50;
  const config = loadConfig({
    SUPERFONE_API_KEY: 'server-key',
    CLIENT_KEYS: JSON.stringify([{ id: 'a', keySha256: 'a'.repeat(64), scopes: ['numbers:read'] }]),
    REDIS_URL: 'redis://fake:6379',
    REDIS_COMMAND_TIMEOUT_MS: String(TIMEOUT_MS),
    SUPERFONE_TIMEOUT_MS: '1500',
    LOG_LEVEL: 'warn',
  });
  const answer: IdempotentAnswer = { kind: 'response', status: 201, headers: {}, body: { n: 1 } };
  const id = { clientId: 'app-a', key: 'k-1' };
  let redis: ReturnType<typeof FakeRedis.create>;
  let logs: string[];

  beforeEach(() => {
    jest.useFakeTimers({ now: Date.parse('2026-11-28T10:00:00.000Z') });
    redis = FakeRedis.create();
    logs = [];
  });
  afterEach(() => jest.useRealTimers());

  function store(): IdempotencyStore {
    const logger = new AppLogger(config, { write: (line: string) => logs.push(line) });
    const connection = new RedisConnection(
      redis as unknown as RedisClient,
      config,
      new Metrics(),
      logger,
    );
    return new IdempotencyStore(connection, config, logger, new LocalIdempotencyRecords());
  }

  function claimed(outcome: StoreClaim): Extract<StoreClaim, { kind: 'claimed' }> {
    if (outcome.kind !== 'claimed') throw new Error(`expected a claim, got ${outcome.kind}`);
    return outcome;
  }

  /** Claims while Redis holds every reply back past both attempts' deadlines, then answers them. */
  async function claimWhileRedisHangs(sut: IdempotencyStore): Promise<StoreClaim> {
    redis.mode = { kind: 'hang' };
    const pending = sut.claim(id, 'fp');
    await jest.advanceTimersByTimeAsync(2 * fakeClockDeadline(TIMEOUT_MS) + TIMEOUT_MS / 5);
    const outcome = await pending;
    redis.resume();
    await jest.advanceTimersByTimeAsync(PAUSE_AFTER_TIMEOUTS_MS);
    return outcome;
  }

  /** The record Redis holds for `id`, parsed. */
  function inRedis(sut: IdempotencyStore) {
    const stored = redis.raw(sut.redisKeyOf(id) ?? '');
    return typeof stored === 'string' ? parseRecord(stored) : stored;
  }

  it('runs 3 × SUPERFONE_TIMEOUT_MS + 5 s per claim', () => {
    expect(store().runningTtlMs).toBe(9500);
  });

  it('a claim whose reply timed out but landed: runs here, and its answer still reaches Redis', async () => {
    const sut = store();

    const outcome = claimed(await claimWhileRedisHangs(sut));
    expect(inRedis(sut)).toMatchObject({ state: 'running', fingerprint: 'fp' });
    await outcome.claim.complete(answer);

    expect(inRedis(sut)).toEqual({ state: 'done', fingerprint: 'fp', answer });
    expect(await sut.claim(id, 'fp')).toEqual({ kind: 'done', answer });
  });

  it('a claim whose reply timed out but landed: releasing it frees the key in Redis too', async () => {
    const sut = store();

    await claimed(await claimWhileRedisHangs(sut)).claim.release();

    expect(redis.raw(sut.redisKeyOf(id) ?? '')).toBeUndefined();
    expect((await store().claim(id, 'fp')).kind).toBe('claimed');
  });

  it('a claim Redis refused never touches Redis again; this process keeps deciding for the key', async () => {
    const sut = store();
    redis.failing.add('superfoneBffIdempotencyClaim');

    const outcome = claimed(await sut.claim(id, 'fp'));
    redis.failing.clear();
    await outcome.claim.complete(answer);

    expect(redis.sent).toEqual(['superfoneBffIdempotencyClaim']);
    expect(await sut.claim(id, 'other')).toEqual({ kind: 'mismatch' });
    expect(await sut.claim(id, 'fp')).toEqual({ kind: 'done', answer });
    const warnings = logs.filter((l) => l.includes('kept in this process only'));
    expect(warnings).toHaveLength(1);
  });

  it('a value this service did not write under the key: served in this process, and an operator is told', async () => {
    const sut = store();
    redis.putForeign(sut.redisKeyOf(id) ?? '', 'not a record');

    const outcome = await sut.claim(id, 'fp');

    expect(outcome.kind).toBe('claimed');
    expect(logs.join('')).toContain('is not one this service wrote');
  });
});
