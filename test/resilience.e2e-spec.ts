import { KEYS } from './support/client-keys.fixture';
import { defined } from './support/defined';
import { Harness, startHarness } from './support/test-app';
import { eventually } from './support/timing';

/** GET /numbers/available on `h` through the generated client, as a numbers:read app. */
const list = (h: Harness) => h.client(KEYS.reader).GET('/numbers/available');
/** GET /health/deps on `h` through the generated client (no key). */
const deps = (h: Harness) => h.client().GET('/health/deps');

describe('upstream retries', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness({ env: { SUPERFONE_TIMEOUT_MS: '2500' } });
  });
  afterEach(async () => {
    await h.close();
  });

  it('retries 503, 503 then answers the 200: one answer, three upstream calls', async () => {
    h.standIn.enqueue({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });

    const { response } = await list(h);

    expect(response.status).toBe(200);
    expect(h.standIn.calls).toBe(3);
  });

  it('retries network errors and 502/504, at most twice', async () => {
    h.standIn.enqueue(
      { kind: 'reset' },
      { kind: 'status', status: 502 },
      { kind: 'status', status: 504 },
    );

    const { error, response } = await list(h);

    expect(response.status).toBe(502);
    expect(error?.code).toBe('UPSTREAM_ERROR');
    expect(h.standIn.calls).toBe(3);
  });

  it.each([
    ['401', 401, 'UPSTREAM_AUTH_FAILED'],
    ['429', 429, 'UPSTREAM_ERROR'],
    ['500', 500, 'UPSTREAM_ERROR'],
  ])('never retries a %s', async (_, status, code) => {
    h.standIn.setBehaviour({ kind: 'status', status });

    const { error } = await list(h);

    expect(error?.code).toBe(code);
    expect(h.standIn.calls).toBe(1);
  });

  it("honours Superfone's Retry-After when it fits in the deadline", async () => {
    h.standIn.enqueue({ kind: 'status', status: 503, headers: { 'retry-after': '1' } });

    const { response } = await list(h);

    expect(response.status).toBe(200);
    const [first, second] = h.standIn.requests;
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
  });

  it('does not wait for a Retry-After beyond the deadline', async () => {
    h.standIn.enqueue({ kind: 'status', status: 503, headers: { 'retry-after': '30' } });

    const { response } = await list(h);

    expect(response.status).toBe(502);
    expect(h.standIn.calls).toBe(1);
  });

  it('keeps retries inside SUPERFONE_TIMEOUT_MS', async () => {
    // 2 × 600 ms answers plus at most 200 + 400 ms of jittered backoff leave the third attempt at
    // least 700 ms of the 2500 ms deadline, so it is always made, and it is the deadline that ends it.
    h.standIn.enqueue(
      { kind: 'status', status: 503, delayMs: 600 },
      { kind: 'status', status: 503, delayMs: 600 },
      { kind: 'hang' },
    );

    const { error, response } = await list(h);

    expect(response.status).toBe(504);
    expect(error?.code).toBe('UPSTREAM_TIMEOUT');
    expect(h.standIn.calls).toBe(3);
  });
});

describe('the circuit breaker', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness({
      env: {
        BREAKER_VOLUME_THRESHOLD: '3',
        BREAKER_ERROR_THRESHOLD_PERCENT: '50',
        BREAKER_RESET_MS: '800',
      },
    });
  });
  afterEach(async () => {
    await h.close();
  });

  it('opens after sustained failures, fails fast while open, and closes after one good probe', async () => {
    h.standIn.setBehaviour({ kind: 'status', status: 500 });
    for (let i = 0; i < 3; i++) expect((await list(h)).response.status).toBe(502);
    expect(h.standIn.calls).toBe(3);

    const rejected = await Promise.all(Array.from({ length: 10 }, () => list(h)));
    for (const { error, response } of rejected) {
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(error?.code).toBe('UPSTREAM_UNAVAILABLE');
    }
    expect(h.standIn.calls).toBe(3);
    const open = await deps(h);
    expect(open.response.status).toBe(200);
    const health = defined(open.data, 'the health report');
    expect(health.status).toBe('degraded');
    expect(health.details.superfone).toEqual({ status: 'degraded', circuit: 'open' });

    h.standIn.setBehaviour({ kind: 'ok' });
    await eventually(
      async () => ((await list(h)).response.status === 200 ? true : undefined),
      'the half-open probe to succeed',
    );

    expect(h.standIn.calls).toBe(4);
    expect((await deps(h)).data?.details.superfone).toEqual({
      status: 'up',
      circuit: 'closed',
    });
  });

  it('does not count a rejected server key as an outage', async () => {
    h.standIn.setBehaviour({ kind: 'status', status: 401 });
    for (let i = 0; i < 5; i++) expect((await list(h)).error?.code).toBe('UPSTREAM_AUTH_FAILED');

    expect(h.standIn.calls).toBe(5);
  });

  it('serves the stale copy at once while open', async () => {
    await h.close();
    h = await startHarness({
      env: {
        CACHE_TTL_SECONDS: '1',
        BREAKER_VOLUME_THRESHOLD: '1',
        BREAKER_ERROR_THRESHOLD_PERCENT: '1',
        BREAKER_RESET_MS: '60000',
      },
    });
    const first = defined((await list(h)).data, 'the list');
    h.standIn.setBehaviour({ kind: 'status', status: 500 });
    // Once stale, the background refresh fails and opens the circuit.
    await eventually(async () => {
      const { response } = await list(h);
      return response.headers.get('cache-status')?.endsWith('stale-if-error')
        ? response
        : undefined;
    }, 'a stale-if-error answer');

    const { data, response } = await list(h);
    expect(response.status).toBe(200);
    expect(data?.meta.fetchedAt).toBe(first.meta.fetchedAt);
    expect(h.standIn.calls).toBe(2);
  });
});
