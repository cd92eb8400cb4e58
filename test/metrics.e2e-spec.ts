import { MetricsServer } from '../src/metrics/metrics.server';
import { runPromtool, withPromtool } from './support/promtool';
import { OwnedRedis, startOwnedRedis } from './support/redis-server';
import { CLIENTS, clientKeyEntry, clientKeysJson, KEYS } from './support/client-keys.fixture';
import { bearer, Harness, SERVER_KEY, startHarness } from './support/test-app';
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
    const read = bearer(KEYS.reader);
    // Traffic that moves every metric: miss + coalesced, hit, refresh, rate limit, stale, retries,
    // upstream failures, an open circuit and Redis errors.
    h.standIn.setBehaviour({ kind: 'ok', delayMs: 50 });
    await Promise.all([h.get('/numbers/available', read), h.get('/numbers/available', read)]);
    await h.get('/numbers/available?provider=exotel', read);
    await fetch(`${h.url}/numbers/available/refresh`, {
      method: 'POST',
      headers: bearer(KEYS.refresher),
    });
    await h.get('/numbers/available', bearer(LIMITED));
    await h.get('/numbers/available', bearer(LIMITED));
    await h.get('/nope');
    const body = (await (await h.get('/numbers/available', read)).json()) as {
      meta: { fetchedAt: string };
    };
    await until(Date.parse(body.meta.fetchedAt) + 1000);
    await owned.stop();
    h.standIn.setBehaviour({ kind: 'status', status: 503 });
    await h.get('/numbers/available', read);
    await h.standIn.waitForCalls(5);
    await eventually(async () => {
      const res = await h.get('/numbers/available', read);
      return res.headers.get('cache-status')?.endsWith('stale-if-error') ? res : undefined;
    }, 'the failed refresh to be recorded');
    await fetch(`${h.url}/numbers/available/refresh`, {
      method: 'POST',
      headers: bearer(KEYS.refresher),
    });
    await fetch(`${h.url}/numbers/available/refresh`, {
      method: 'POST',
      headers: bearer(KEYS.refresher),
    });
    await h.get('/health/deps');
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

describe('METRICS_PORT', () => {
  it('moves /metrics off the main port', async () => {
    const h = await startHarness({ env: { METRICS_PORT: '0' } });
    try {
      const port = h.app.get(MetricsServer).port;

      expect((await h.get('/metrics')).status).toBe(404);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('superfone_bff_http_request_duration_seconds');
    } finally {
      await h.close();
    }
  });
});
