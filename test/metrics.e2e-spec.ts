import { randomUUID } from 'node:crypto';
import { CacheKeys } from '../src/cache/cache-keys';
import { Metrics } from '../src/metrics/metrics';
import { MetricsText } from '../src/metrics/metrics-text';
import { MetricsServer } from '../src/metrics/metrics.server';
import type { SuperfoneStandIn } from '../tools/superfone-stand-in/superfone-stand-in';
import { parseLogLines } from './support/bodies';
import { redisCommand } from './support/invalidation-bus-harness';
import { APP_1, APP_2, deleteLink, NUMBER, postLink } from './support/number-links';
import { runPromtool, withPromtool } from './support/promtool';
import { OwnedRedis, startOwnedRedis } from './support/redis-server';
import { CLIENTS, clientKeyEntry, clientKeysJson, KEYS } from './support/client-keys.fixture';
import { defined } from './support/defined';
import {
  Harness,
  SERVER_KEY,
  startHarness,
  startSharedStandIn,
  testRedisUrl,
} from './support/test-app';
import { eventually, until } from './support/timing';

const LIMITED = 'sfb_metrics-limited-key-00000000000000000007';
const CLIENT_KEYS = clientKeysJson([
  CLIENTS.reader,
  CLIENTS.refresher,
  clientKeyEntry('limited-app', LIMITED, ['numbers:read'], 1),
]);

/** The value of one sample line, e.g. `superfone_bff_cache_results_total{result="hit"}`. */
function sample(scrape: string, series: string): number | undefined {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

// The scrape (/metrics) is outside the API document, so it is read with raw fetch throughout.
describe('GET /metrics', () => {
  let h: Harness;
  let owned: OwnedRedis;

  beforeAll(async () => {
    owned = await startOwnedRedis();
    h = await startHarness({
      redisUrl: owned.url,
      env: {
        CLIENT_KEYS,
        CACHE_TTL_SECONDS: '1',
        BREAKER_VOLUME_THRESHOLD: '2',
        BREAKER_ERROR_THRESHOLD_PERCENT: '40',
        BREAKER_RESET_MS: '60000',
      },
    });
    const reader = h.client(KEYS.reader);
    const list = () => reader.GET('/numbers/available');
    const refresh = () => h.client(KEYS.refresher).POST('/numbers/available/refresh');
    // Traffic that moves every metric: miss + coalesced, hit, refresh, rate limit, stale, retries,
    // upstream failures, an open circuit and Redis errors. Through the generated client, but for
    // the unknown path.
    h.standIn.setBehaviour({ kind: 'ok', delayMs: 50 });
    await Promise.all([list(), list()]);
    await reader.GET('/numbers/available', { params: { query: { provider: 'exotel' } } });
    await refresh();
    const limited = h.client(LIMITED);
    await limited.GET('/numbers/available');
    await limited.GET('/numbers/available');
    await h.get('/nope');
    const { data } = await list();
    await until(Date.parse(defined(data, 'the list').meta.fetchedAt) + 1000);
    await owned.stop();
    h.standIn.setBehaviour({ kind: 'status', status: 503 });
    await list();
    await h.standIn.waitForCalls(5);
    await eventually(async () => {
      const { response } = await list();
      return response.headers.get('cache-status')?.endsWith('stale-if-error')
        ? response
        : undefined;
    }, 'the failed refresh to be recorded');
    await refresh();
    await refresh();
    await h.client().GET('/health/deps');
  });
  afterAll(async () => {
    await h.close();
    await owned.stop();
  });

  it('exposes every metric with the values the traffic produced', async () => {
    const res = await h.get('/metrics');
    const scrape = await res.text();

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(sample(scrape, 'superfone_bff_cache_results_total{result="miss"}')).toBe(1);
    expect(sample(scrape, 'superfone_bff_cache_results_total{result="coalesced"}')).toBe(1);
    expect(
      sample(scrape, 'superfone_bff_cache_results_total{result="hit"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(scrape, 'superfone_bff_cache_results_total{result="refresh"}')).toBe(1);
    expect(
      sample(scrape, 'superfone_bff_cache_results_total{result="stale"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(scrape, 'superfone_bff_rate_limited_total{client="limited-app"}')).toBe(1);
    expect(sample(scrape, 'superfone_bff_upstream_retries_total')).toBeGreaterThanOrEqual(2);
    expect(
      sample(scrape, 'superfone_bff_upstream_failures_total{classification="upstream_error"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(
      sample(scrape, 'superfone_bff_upstream_failures_total{classification="circuit_open"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(scrape, 'superfone_bff_upstream_request_duration_seconds_count{outcome="success"}'),
    ).toBe(2);
    expect(sample(scrape, 'superfone_bff_circuit_state')).toBe(2);
    expect(sample(scrape, 'superfone_bff_redis_errors_total{operation="health"}')).toBe(1);
    expect(
      sample(scrape, 'superfone_bff_redis_errors_total{operation="lock"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(scrape, 'superfone_bff_cached_copy_fetched_timestamp_seconds')).toBeGreaterThan(
      Date.now() / 1000 - 60,
    );
    expect(
      sample(
        scrape,
        'superfone_bff_http_request_duration_seconds_count{route="/numbers/available",method="GET",status_code="429"}',
      ),
    ).toBe(1);
    expect(
      sample(
        scrape,
        'superfone_bff_http_request_duration_seconds_count{route="unmatched",method="GET",status_code="404"}',
      ),
    ).toBe(1);
    expect(scrape).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(scrape).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
  });

  it('keeps labels low-cardinality and free of secrets', async () => {
    const scrape = await (await h.get('/metrics')).text();

    for (const secret of [SERVER_KEY, ...Object.values(KEYS), LIMITED])
      expect(scrape).not.toContain(secret);
    expect(scrape).not.toContain('provider=exotel');
    expect(scrape).not.toContain('/nope');
    expect(scrape).not.toMatch(/_total\{[^}]*\} .*\n# TYPE \S+_total gauge/);
  });

  it('types no *_total series as a gauge (what promtool check metrics rejects most often)', async () => {
    const scrape = await (await h.get('/metrics')).text();
    expect(scrape).toMatch(/^# TYPE superfone_bff_cache_results_total counter$/m);
    expect(scrape).not.toMatch(/^# TYPE \S+_total gauge$/m);
  });

  withPromtool('passes promtool check metrics', async () => {
    const scrape = await (await h.get('/metrics')).text();
    expect(scrape).toContain('# TYPE superfone_bff_cache_results_total counter');

    const check = runPromtool(['check', 'metrics'], { input: scrape });

    expect({ status: check.status, problems: check.output.trim() }).toEqual({
      status: 0,
      problems: '',
    });
  });
});

describe('number link metrics on two replicas sharing a Redis', () => {
  let standIn: SuperfoneStandIn;
  let a: Harness;
  let b: Harness;

  beforeAll(async () => {
    standIn = await startSharedStandIn();
    const keyPrefix = `superfone-bff-test:${randomUUID()}:`;
    [a, b] = await Promise.all([
      startHarness({ standIn, keyPrefix }),
      startHarness({ standIn, keyPrefix }),
    ]);
    // Both replicas subscribed, as Redis sees it: b hears what a announces.
    const channel = new CacheKeys(keyPrefix, SERVER_KEY).invalidationChannel;
    await eventually(async () => {
      const [, subscribers] = (await redisCommand(testRedisUrl(), [
        'PUBSUB',
        'NUMSUB',
        channel,
      ])) as [string, number];
      return subscribers === 2 ? true : undefined;
    }, 'both replicas to subscribe to the invalidation channel');

    const link = async (appId: string) =>
      (await postLink(a, KEYS.linker, appId, { voipNumber: NUMBER })).response.status;
    const unlink = async (appId: string) =>
      (await deleteLink(a, KEYS.linker, appId, NUMBER)).response.status;
    expect(await link(APP_1)).toBe(201);
    expect(await link(APP_1)).toBe(200);
    expect(await link(APP_2)).toBe(409);
    expect(await unlink(APP_2)).toBe(404);
    standIn.enqueueFor('unlink', { kind: 'status', status: 500 });
    expect(await unlink(APP_1)).toBe(502);
    expect(await unlink(APP_1)).toBe(204);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await standIn.stop();
  });

  const scrape = async (h: Harness) => (await h.get('/metrics')).text();
  const mutations = (text: string, operation: string, outcome: string) =>
    sample(
      text,
      `superfone_bff_number_mutations_total{operation="${operation}",outcome="${outcome}"}`,
    );
  const invalidations = (text: string, event: string) =>
    sample(text, `superfone_bff_cache_invalidations_total{event="${event}"}`);

  it('counts every link and unlink by operation and outcome, each with one audit line', async () => {
    const text = await scrape(a);
    expect({
      linked: mutations(text, 'link', 'linked'),
      alreadyLinked: mutations(text, 'link', 'already_linked'),
      linkedElsewhere: mutations(text, 'link', 'number_already_linked'),
      notLinked: mutations(text, 'unlink', 'number_not_linked'),
      failed: mutations(text, 'unlink', 'upstream_error'),
      unlinked: mutations(text, 'unlink', 'unlinked'),
    }).toEqual({
      linked: 1,
      alreadyLinked: 1,
      linkedElsewhere: 1,
      notLinked: 1,
      failed: 1,
      unlinked: 1,
    });
    expect(text).toMatch(/^# TYPE superfone_bff_number_mutations_total counter$/m);
    const audit = parseLogLines(a.logs)
      .map((line) => line as Record<string, unknown>)
      .filter((line) => line.context === 'audit');
    expect(
      audit.map((l) => [l.event, l.appId, l.outcome, l.clientId, l.voipNumber, typeof l.requestId]),
    ).toEqual(
      [
        ['number.link', APP_1, 'linked'],
        ['number.link', APP_1, 'already_linked'],
        ['number.link', APP_2, 'number_already_linked'],
        ['number.unlink', APP_2, 'number_not_linked'],
        ['number.unlink', APP_1, 'upstream_error'],
        ['number.unlink', APP_1, 'unlinked'],
      ].map((line) => [...line, 'linker-app', NUMBER, 'string']),
    );
  });

  it('counts invalidations sent by the writing replica and received by the other', async () => {
    // The link and the unlink that went through each announced one change.
    expect(invalidations(await scrape(a), 'sent')).toBe(2);
    const heard = await eventually(async () => {
      const n = invalidations(await scrape(b), 'received');
      return n === 2 ? n : undefined;
    }, 'b to receive both announcements');
    expect(heard).toBe(2);
    const text = await scrape(b);
    expect(invalidations(text, 'sent')).toBeUndefined();
    expect(invalidations(text, 'missed')).toBeUndefined();
  });

  withPromtool(
    'passes promtool check metrics with the mutation and invalidation series',
    async () => {
      const check = runPromtool(['check', 'metrics'], { input: await scrape(a) });
      expect({ status: check.status, problems: check.output.trim() }).toEqual({
        status: 0,
        problems: '',
      });
    },
  );
});

describe('METRICS_PORT', () => {
  it('moves /metrics off the main port', async () => {
    const h = await startHarness({ env: { METRICS_PORT: '0' } });
    try {
      const port = h.app.get(MetricsServer).port;
      const render = jest.spyOn(h.app.get(MetricsText), 'render');

      expect((await h.get('/metrics')).status).toBe(404);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('superfone_bff_http_request_duration_seconds');
      // The same one-second cache as the main port's.
      expect(render).toHaveBeenCalledTimes(1);
    } finally {
      await h.close();
    }
  });
});

describe('GET /metrics under a scrape flood', () => {
  it('renders once for many concurrent scrapes, and every scrape gets that text', async () => {
    const h = await startHarness();
    try {
      const renders = jest.spyOn(h.app.get(MetricsText), 'render');
      const registryRenders = jest.spyOn(h.app.get(Metrics).registry, 'metrics');

      const texts = await Promise.all(
        Array.from({ length: 20 }, async () => (await h.get('/metrics')).text()),
      );

      expect(renders).toHaveBeenCalledTimes(20);
      // At most one more if the flood happened to straddle the one-second window.
      expect(registryRenders.mock.calls.length).toBeLessThanOrEqual(2);
      expect(new Set(texts).size).toBeLessThanOrEqual(registryRenders.mock.calls.length);
    } finally {
      await h.close();
    }
  });
});
