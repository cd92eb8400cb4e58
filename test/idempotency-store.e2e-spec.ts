import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { AppError } from '../src/common/app.error';
import { loadConfig } from '../src/config/load-config';
import type { IdempotentAnswer } from '../src/idempotency/idempotency.record';
import {
  type Begun,
  IdempotencyService,
  type IdempotentRequest,
  type IdempotentResponse,
} from '../src/idempotency/idempotency.service';
import { IdempotencyStore } from '../src/idempotency/idempotency.store';
import { LocalIdempotencyRecords } from '../src/idempotency/local-idempotency.records';
import { AppLogger } from '../src/logging/app-logger';
import { Metrics } from '../src/metrics/metrics';
import { createRedisClient } from '../src/redis/redis-client.factory';
import { RedisConnection } from '../src/redis/redis.connection';
import { clientKeyEntry, clientKeysJson } from './support/client-keys.fixture';
import { defined } from './support/defined';
import {
  clusterAvailable,
  type RedisClusterTopology,
  startCluster,
  stopAllStarted,
} from './support/redis-topologies';
import { startOwnedRedis } from './support/redis-server';
import { deleteKeys, testRedisUrl } from './support/test-app';

const DAY_MS = 24 * 60 * 60 * 1000;
const SUPERFONE_TIMEOUT_MS = 1500;
/** 3 × SUPERFONE_TIMEOUT_MS + 5 s (runningTtlMs). */
const RUNNING_TTL_MS = 3 * SUPERFONE_TIMEOUT_MS + 5000;

const created: IdempotentResponse = {
  kind: 'response',
  status: 201,
  headers: { location: '/apps/app-1/numbers/%2B918000000001' },
  body: { data: { appId: 'app-1', voipNumber: '+918000000001', status: 'active' } },
};

function settings(redisEnv: Record<string, string | undefined>, prefix: string) {
  return loadConfig({
    SUPERFONE_API_KEY: 'server-key',
    SUPERFONE_TIMEOUT_MS: String(SUPERFONE_TIMEOUT_MS),
    CLIENT_KEYS: clientKeysJson([clientKeyEntry('app-a', 'k', ['numbers:read'])]),
    REDIS_KEY_PREFIX: prefix,
    REDIS_COMMAND_TIMEOUT_MS: '1000',
    LOG_LEVEL: 'warn',
    ...redisEnv,
  });
}

/** One replica's idempotency pieces on its own Redis connection, logging into `logs`. */
interface Replica {
  readonly service: IdempotencyService;
  readonly store: IdempotencyStore;
  readonly logs: string[];
}

describe('idempotency records on a real Redis', () => {
  const prefix = `superfone-bff-test:${randomUUID()}:`;
  const connections: RedisConnection[] = [];
  let probe: Redis;

  async function replica(redisEnv: Record<string, string | undefined> = {}): Promise<Replica> {
    const config = settings({ REDIS_URL: testRedisUrl(), ...redisEnv }, prefix);
    const logs: string[] = [];
    const logger = new AppLogger(config, { write: (line: string) => logs.push(line) });
    const topology = config.redis.topology;
    const connection = new RedisConnection(
      topology ? createRedisClient({ ...config.redis, topology }) : undefined,
      config,
      new Metrics(),
      logger,
    );
    connections.push(connection);
    await connection.onModuleInit();
    const store = new IdempotencyStore(connection, config, logger, new LocalIdempotencyRecords());
    return { service: new IdempotencyService(store), store, logs };
  }

  const request = (over: Partial<IdempotentRequest> = {}): IdempotentRequest => ({
    clientId: 'app-a',
    key: randomUUID(),
    method: 'POST',
    url: '/apps/app-1/numbers',
    body: { voipNumber: '+918000000001' },
    ...over,
  });

  /** The AppError `begin` threw, or a failure if it began. */
  async function refused(begin: Promise<Begun>): Promise<AppError> {
    const error: unknown = await begin.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
    return error;
  }

  async function begun(begin: Promise<Begun>): Promise<Extract<Begun, { kind: 'new' }>> {
    const result = await begin;
    if (result.kind !== 'new') throw new Error(`expected a new request, got ${result.kind}`);
    return result;
  }

  const redisKey = (r: Replica, req: IdempotentRequest) =>
    defined(r.store.redisKeyOf(req), 'the Redis key of a store with Redis');

  beforeAll(() => {
    probe = new Redis(testRedisUrl());
  });
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.onApplicationShutdown()));
  });
  afterAll(async () => {
    await deleteKeys(testRedisUrl(), prefix);
    probe.disconnect();
  });

  it('two replicas racing on one key: exactly one runs, the other is 409 IDEMPOTENCY_KEY_IN_USE', async () => {
    const [a, b] = [await replica(), await replica()];
    const req = request();

    const results = await Promise.allSettled([a.service.begin(req), b.service.begin(req)]);

    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(fulfilled.map((r) => r.value.kind)).toEqual(['new']);
    expect(rejected).toHaveLength(1);
    const error = rejected[0].reason as AppError;
    expect(error).toBeInstanceOf(AppError);
    expect([error.code, error.status, error.headers]).toEqual([
      'IDEMPOTENCY_KEY_IN_USE',
      409,
      { 'retry-after': '1' },
    ]);
  });

  it('while running: a short TTL in Redis; once complete: kept 24 h and replayed on another replica', async () => {
    const [a, b] = [await replica(), await replica()];
    const req = request();
    const first = await begun(a.service.begin(req));
    const key = redisKey(a, req);

    const runningTtl = await probe.pttl(key);
    expect(runningTtl).toBeGreaterThan(RUNNING_TTL_MS - 5000);
    expect(runningTtl).toBeLessThanOrEqual(RUNNING_TTL_MS);
    await first.complete(created);

    const keptTtl = await probe.pttl(key);
    expect(keptTtl).toBeGreaterThan(DAY_MS - 60_000);
    expect(keptTtl).toBeLessThanOrEqual(DAY_MS);
    expect(await b.service.begin({ ...req, body: { voipNumber: '+918000000001' } })).toEqual({
      kind: 'replay',
      answer: created,
    });
    // What landed: one JSON string, under a name that carries the client, not the caller's key.
    expect(key).toMatch(new RegExp(`^${prefix}idempotency:[0-9a-f]{16}:app-a:[0-9a-f]{32}$`));
    expect(key).not.toContain(req.key);
    const stored = JSON.parse(defined(await probe.get(key), 'the record')) as Record<
      string,
      unknown
    >;
    expect(stored.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect({ ...stored, fingerprint: 'sha-256' }).toEqual({
      v: 1,
      state: 'done',
      fingerprint: 'sha-256',
      answer: created,
    });
  });

  it('the same key with another path, method or body is 422 IDEMPOTENCY_KEY_MISMATCH, running or done', async () => {
    const [a, b] = [await replica(), await replica()];
    const req = request();
    const first = await begun(a.service.begin(req));
    const others = [
      { ...req, body: { voipNumber: '+918000000002' } },
      { ...req, url: '/apps/app-2/numbers' },
      { ...req, method: 'DELETE' },
    ];

    for (const other of others)
      expect((await refused(b.service.begin(other))).code).toBe('IDEMPOTENCY_KEY_MISMATCH');
    await first.complete(created);
    const error = await refused(b.service.begin(others[0]));

    expect([error.code, error.status]).toEqual(['IDEMPOTENCY_KEY_MISMATCH', 422]);
  });

  it('abandon frees the key at once; a 5xx or 429 answer frees it too; a 404 problem is kept', async () => {
    const [a, b] = [await replica(), await replica()];
    const abandoned = request();
    await (await begun(a.service.begin(abandoned))).abandon();
    const timedOut = request();
    await (
      await begun(a.service.begin(timedOut))
    ).complete({
      kind: 'problem',
      code: 'UPSTREAM_TIMEOUT',
      detail: 'could not tell',
      headers: {},
    });
    const limited = request();
    await (await begun(a.service.begin(limited))).complete({ ...created, status: 429 });
    const notFound = request();
    const problem: IdempotentAnswer = {
      kind: 'problem',
      code: 'NOT_FOUND',
      detail: 'no such app',
      headers: {},
    };
    await (await begun(a.service.begin(notFound))).complete(problem);

    for (const req of [abandoned, timedOut, limited])
      expect(await probe.exists(redisKey(a, req))).toBe(0);
    for (const req of [abandoned, timedOut, limited])
      expect((await b.service.begin(req)).kind).toBe('new');
    expect(await b.service.begin(notFound)).toEqual({ kind: 'replay', answer: problem });
  });

  it('run(): a kept problem is thrown again, marked replayed, and exec is not called', async () => {
    const [a, b] = [await replica(), await replica()];
    const req = request();
    let calls = 0;
    const exec = () => {
      calls++;
      return Promise.reject(new AppError('NOT_FOUND', 'no such app'));
    };

    await expect(a.service.run(req, exec)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      headers: {},
    });
    const replayed = b.service.run(req, exec);

    await expect(replayed).rejects.toMatchObject({
      code: 'NOT_FOUND',
      detail: 'no such app',
      headers: { 'idempotent-replayed': 'true' },
    });
    expect(calls).toBe(1);
  });

  it('run(): an unexpected error frees the key; the retry runs and its answer is kept', async () => {
    const a = await replica();
    const req = request();

    await expect(a.service.run(req, () => Promise.reject(new Error('bug')))).rejects.toThrow('bug');
    const retry = await a.service.run(req, () => Promise.resolve(created));
    const again = await a.service.run(req, () => Promise.reject(new Error('not called')));

    expect(retry).toEqual({ response: created, replayed: false });
    expect(again).toEqual({ response: created, replayed: true });
  });

  it('two clients using the same key never meet', async () => {
    const [a, b] = [await replica(), await replica()];
    const key = randomUUID();

    const first = await begun(a.service.begin(request({ key, clientId: 'app-a' })));
    const second = await b.service.begin(
      request({ key, clientId: 'app-b', body: { voipNumber: '+918000000009' } }),
    );
    await first.complete(created);

    expect(second.kind).toBe('new');
    expect(redisKey(a, request({ key, clientId: 'app-a' }))).not.toBe(
      redisKey(a, request({ key, clientId: 'app-b' })),
    );
  });

  it('a request that outlived its claim never overwrites the next request on that key', async () => {
    const [a, b] = [await replica(), await replica()];
    const req = request();
    const slow = await begun(a.service.begin(req));
    // Its claim expires (a crashed or very slow replica); the retry claims the key on replica b.
    await probe.del(redisKey(a, req));
    const retry = await begun(b.service.begin(req));

    await slow.complete({ ...created, body: { late: true } });

    expect((await refused(a.service.begin(req))).code).toBe('IDEMPOTENCY_KEY_IN_USE');
    await retry.complete(created);
    expect(await a.service.begin(req)).toEqual({ kind: 'replay', answer: created });
    expect(a.logs.join('')).toContain('outlived its claim');
  });

  describe('without a working Redis', () => {
    it('not configured: the same semantics in this process', async () => {
      const a = await replica({ REDIS_URL: undefined });
      const req = request();

      const first = await begun(a.service.begin(req));
      expect((await refused(a.service.begin(req))).code).toBe('IDEMPOTENCY_KEY_IN_USE');
      expect((await refused(a.service.begin({ ...req, method: 'DELETE' }))).code).toBe(
        'IDEMPOTENCY_KEY_MISMATCH',
      );
      await first.complete(created);

      expect(await a.service.begin(req)).toEqual({ kind: 'replay', answer: created });
      expect(a.store.redisKeyOf(req)).toBeUndefined();
      const other = request();
      await (await begun(a.service.begin(other))).abandon();
      expect((await a.service.begin(other)).kind).toBe('new');
    });

    it('Redis down: the same semantics in this process, and an operator is told once', async () => {
      const owned = await startOwnedRedis();
      await owned.stop();
      const a = await replica({ REDIS_URL: owned.url });
      const req = request();

      const first = await begun(a.service.begin(req));
      expect((await refused(a.service.begin(req))).code).toBe('IDEMPOTENCY_KEY_IN_USE');
      expect((await refused(a.service.begin({ ...req, body: {} }))).code).toBe(
        'IDEMPOTENCY_KEY_MISMATCH',
      );
      await first.complete(created);

      expect(await a.service.begin(req)).toEqual({ kind: 'replay', answer: created });
      const warnings = a.logs.filter((line) =>
        line.includes('idempotency records kept in this process only'),
      );
      expect(warnings).toHaveLength(1);
    });

    it('Redis fails mid-request: the answer is kept in this process and replayed after Redis is back', async () => {
      const owned = await startOwnedRedis();
      try {
        const a = await replica({ REDIS_URL: owned.url });
        const req = request();
        const first = await begun(a.service.begin(req));
        await owned.stop();

        await first.complete(created);
        await owned.start();

        // A fresh Redis (nothing persisted): the record this process kept still decides for the key.
        expect(await a.service.begin(req)).toEqual({ kind: 'replay', answer: created });
        expect((await refused(a.service.begin({ ...req, body: {} }))).code).toBe(
          'IDEMPOTENCY_KEY_MISMATCH',
        );
      } finally {
        await owned.stop();
      }
    });
  });
});

(clusterAvailable() ? describe : describe.skip)('idempotency records on a Redis Cluster', () => {
  let cluster: RedisClusterTopology | undefined;
  const connections: RedisConnection[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(connections.map((c) => c.onApplicationShutdown()));
    await cluster?.stop();
    await stopAllStarted();
  });

  async function replica(): Promise<IdempotencyService> {
    const config = settings(
      { REDIS_CLUSTER_NODES: defined(cluster, 'the cluster').seeds },
      'superfone-bff-test:',
    );
    const logger = new AppLogger(config);
    const connection = new RedisConnection(
      createRedisClient({ ...config.redis, topology: defined(config.redis.topology, 'topology') }),
      config,
      new Metrics(),
      logger,
    );
    connections.push(connection);
    await connection.onModuleInit();
    return new IdempotencyService(
      new IdempotencyStore(connection, config, logger, new LocalIdempotencyRecords()),
    );
  }

  it('keys on many slots: one claim per race, mismatch, and a replay on the other replica', async () => {
    const [a, b] = [await replica(), await replica()];
    const requests = Array.from({ length: 8 }, (_, i) => ({
      clientId: 'app-a',
      key: `cluster-key-${i}`,
      method: 'POST',
      url: '/apps/app-1/numbers',
      body: { voipNumber: `+91800000000${i}` },
    }));

    for (const req of requests) {
      const results = await Promise.allSettled([a.begin(req), b.begin(req)]);
      const winner = results.find((r) => r.status === 'fulfilled');
      const loser = results.find((r) => r.status === 'rejected');
      expect((loser?.reason as AppError | undefined)?.code).toBe('IDEMPOTENCY_KEY_IN_USE');
      const claim = defined(winner, 'the winning claim').value;
      if (claim.kind !== 'new') throw new Error('expected a new request');
      await expect(b.begin({ ...req, method: 'DELETE' })).rejects.toMatchObject({
        code: 'IDEMPOTENCY_KEY_MISMATCH',
      });
      await claim.complete(created);
      expect(await b.begin(req)).toEqual({ kind: 'replay', answer: created });
      expect(await a.begin(req)).toEqual({ kind: 'replay', answer: created });
    }
  });
});
