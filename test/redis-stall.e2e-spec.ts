import { randomUUID } from 'node:crypto';
import { SuperfoneStandIn } from '../tools/superfone-stand-in/superfone-stand-in';
import { OwnedRedis, startOwnedRedis } from './support/redis-server';
import { ServiceProcess, startServiceProcess } from './support/service-process';
import { CLIENTS, clientKeyEntry, clientKeysJson, KEYS } from './support/client-keys.fixture';
import { bearer, deleteKeys, standInBaseUrl, startSharedStandIn } from './support/test-app';
import { eventually } from './support/timing';
import { defined } from './support/defined';

const HALF = 'sfb_half-limit-key-e2e-00000000000000000007';
const LIMIT = 300;
const CLIENT_KEYS = clientKeysJson([
  { ...CLIENTS.reader, rateLimitPerMinute: 1_000_000 },
  clientKeyEntry('half-limit-app', HALF, ['numbers:read'], LIMIT),
]);
const REDIS_COMMAND_TIMEOUT_MS = 50;
const UPSTREAM_DELAY_MS = 50;
const STALL_MS = 10_000;

interface Answer {
  readonly path: string;
  readonly client?: string;
  readonly status: number | 'error';
  readonly ms: number;
}

/**
 * Redis hangs with its sockets open (SIGSTOP) for 10 s while three replicas serve steady GETs, a
 * client at half its rate limit, and a /health/deps flood: what an operator sees when a Redis
 * node stalls, fails over slowly, or a network partition holds packets.
 */
describe('a Redis that hangs for 10 s under load', () => {
  let redis: OwnedRedis;
  let standIn: SuperfoneStandIn;
  let replicas: ServiceProcess[] = [];
  const prefix = `superfone-bff-test:${randomUUID()}:`;

  beforeAll(async () => {
    redis = await startOwnedRedis();
    standIn = await startSharedStandIn();
    standIn.setBehaviour({ kind: 'ok', delayMs: UPSTREAM_DELAY_MS });
    const env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      REDIS_COMMAND_TIMEOUT_MS: String(REDIS_COMMAND_TIMEOUT_MS),
      SUPERFONE_BASE_URL: standInBaseUrl(standIn),
      CLIENT_KEYS,
      // Short freshness, so refreshes (lock, shared read and write) run all through the stall.
      CACHE_TTL_SECONDS: '1',
    };
    replicas = await Promise.all([0, 1, 2].map(() => startServiceProcess(env)));
  }, 30_000);

  afterAll(async () => {
    if (redis.pid) process.kill(redis.pid, 'SIGCONT');
    await Promise.all(replicas.map((r) => r.stop()));
    await standIn.stop();
    await deleteKeys(redis.url, prefix);
    await redis.stop();
  }, 30_000);

  it('answers every request, bounded by the Redis deadline plus the upstream call, in bounded memory, and logs a summary', async () => {
    for (const r of replicas)
      expect(
        (await fetch(`${r.url}/numbers/available`, { headers: bearer(KEYS.reader) })).status,
      ).toBe(200);
    // Memory is compared with the same load before the stall (warm JIT and heap), not with an idle process.
    let rssBefore: number[] = [];
    const rssPeak = replicas.map(() => 0);
    const answers: Answer[] = [];
    const started = Date.now();
    const stallStarts = started + 2_000;
    const stallEnds = stallStarts + STALL_MS;
    const loadEnds = stallEnds + 2_000;

    const request = async (
      url: string,
      path: string,
      headers: Record<string, string> = {},
      client?: string,
    ) => {
      const t = performance.now();
      const status = await fetch(`${url}${path}`, {
        headers,
        signal: AbortSignal.timeout(10_000),
      }).then(
        async (r) => (await r.arrayBuffer(), r.status),
        () => 'error' as const,
      );
      answers.push({ path, client, status, ms: performance.now() - t });
    };
    const loop = async (body: (i: number) => Promise<void>, pauseMs: number) => {
      for (let i = 0; Date.now() < loadEnds; i++) {
        await body(i);
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    };
    const sampler = setInterval(() => {
      if (Date.now() >= stallStarts)
        replicas.forEach((r, i) => (rssPeak[i] = Math.max(rssPeak[i], r.rss())));
    }, 100);
    const stall = (async () => {
      await new Promise((resolve) => setTimeout(resolve, stallStarts - Date.now()));
      rssBefore = replicas.map((r) => r.rss());
      const pid = defined(redis.pid, 'the Redis pid');
      process.kill(pid, 'SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, STALL_MS));
      process.kill(pid, 'SIGCONT');
    })();
    // A client at half its limit: LIMIT/2 requests, evenly spread over the load, across the replicas.
    const halfClient = Array.from({ length: LIMIT / 2 }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, (i * (loadEnds - started)) / (LIMIT / 2)));
      await request(replicas[i % 3].url, '/numbers/available', bearer(HALF), 'half');
    });
    await Promise.all([
      stall,
      ...halfClient,
      ...[0, 1, 2].map((n) =>
        loop(() => request(replicas[n].url, '/numbers/available', bearer(KEYS.reader)), 20),
      ),
      ...Array.from({ length: 10 }, () => loop(() => request(replicas[0].url, '/health/deps'), 0)),
    ]);
    clearInterval(sampler);

    const gets = answers.filter((a) => a.path === '/numbers/available');
    const deps = answers.filter((a) => a.path === '/health/deps');
    const slowest = Math.max(...gets.map((a) => a.ms));
    const warnings = replicas.map(
      (r) =>
        r.logs.filter(
          (l) =>
            l.level === 40 && Number(l.time) >= stallStarts && Number(l.time) <= stallEnds + 1000,
        ).length,
    );
    const growthMiB = replicas.map((r, i) => (rssPeak[i] - rssBefore[i]) / 2 ** 20);
    if (process.env.STALL_REPORT) {
      process.stdout.write(
        `${JSON.stringify({ gets: gets.length, half: gets.filter((a) => a.client === 'half').length, deps: deps.length, slowestGetMs: Math.round(slowest), growthMiB: growthMiB.map((g) => g.toFixed(1)), warnings, upstreamCalls: standIn.calls })}\n`,
      );
    }

    expect(gets.filter((a) => a.status !== 200)).toEqual([]);
    expect(gets.filter((a) => a.client === 'half')).toHaveLength(LIMIT / 2);
    expect(deps.filter((a) => a.status === 'error')).toEqual([]);
    expect(deps.some((a) => a.status === 503)).toBe(true);
    expect(deps.length).toBeGreaterThan(1000);
    // 2 × the Redis deadline (plus the pause between the attempts), one upstream call, and room for a busy 2-core machine.
    expect(slowest).toBeLessThan(2 * REDIS_COMMAND_TIMEOUT_MS + UPSTREAM_DELAY_MS + 750);
    for (const growth of growthMiB) expect(growth).toBeLessThan(20);
    // A summary per interval and kind, not a line per request.
    for (const count of warnings) expect(count).toBeLessThanOrEqual(8);

    // Once Redis answers again, the replicas use it again: the health report says so.
    for (const r of replicas) {
      await eventually(
        async () => ((await fetch(`${r.url}/health/deps`)).status === 200 ? true : undefined),
        'Redis in use again',
        10_000,
      );
    }
  }, 60_000);
});
