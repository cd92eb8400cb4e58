import { KEYS } from './support/client-keys.fixture';
import { readHealth, readNumbers, readProblem } from './support/bodies';
import { bearer, Harness, startHarness } from './support/test-app';
import { eventually } from './support/timing';

const read = bearer(KEYS.reader);

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

    const res = await h.get('/numbers/available', read);

    expect(res.status).toBe(200);
    expect(h.standIn.calls).toBe(3);
  });

  it('retries network errors and 502/504, at most twice', async () => {
    h.standIn.enqueue(
      { kind: 'reset' },
      { kind: 'status', status: 502 },
      { kind: 'status', status: 504 },
    );

    const res = await h.get('/numbers/available', read);

    expect(res.status).toBe(502);
    expect((await readProblem(res)).code).toBe('UPSTREAM_ERROR');
    expect(h.standIn.calls).toBe(3);
  });

  it.each([
    ['401', 401, 'UPSTREAM_AUTH_FAILED'],
    ['429', 429, 'UPSTREAM_ERROR'],
    ['500', 500, 'UPSTREAM_ERROR'],
  ])('never retries a %s', async (_, status, code) => {
    h.standIn.setBehaviour({ kind: 'status', status });

    const res = await h.get('/numbers/available', read);

    expect((await readProblem(res)).code).toBe(code);
    expect(h.standIn.calls).toBe(1);
  });

  it("honours Superfone's Retry-After when it fits in the deadline", async () => {
    h.standIn.enqueue({ kind: 'status', status: 503, headers: { 'retry-after': '1' } });

    const res = await h.get('/numbers/available', read);

    expect(res.status).toBe(200);
    const [first, second] = h.standIn.requests;
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
  });

  it('does not wait for a Retry-After beyond the deadline', async () => {
    h.standIn.enqueue({ kind: 'status', status: 503, headers: { 'retry-after': '30' } });

    const res = await h.get('/numbers/available', read);

    expect(res.status).toBe(502);
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

    const res = await h.get('/numbers/available', read);

    expect(res.status).toBe(504);
    expect((await readProblem(res)).code).toBe('UPSTREAM_TIMEOUT');
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
    for (let i = 0; i < 3; i++) expect((await h.get('/numbers/available', read)).status).toBe(502);
    expect(h.standIn.calls).toBe(3);

    const rejected = await Promise.all(
      Array.from({ length: 10 }, () => h.get('/numbers/available', read)),
    );
    for (const res of rejected) {
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect((await readProblem(res)).code).toBe('UPSTREAM_UNAVAILABLE');
    }
    expect(h.standIn.calls).toBe(3);
    const deps = await h.get('/health/deps');
    expect(deps.status).toBe(200);
    const health = await readHealth(deps);
    expect(health.status).toBe('degraded');
    expect(health.details.superfone).toEqual({ status: 'degraded', circuit: 'open' });

    h.standIn.setBehaviour({ kind: 'ok' });
    await eventually(
      async () => ((await h.get('/numbers/available', read)).status === 200 ? true : undefined),
      'the half-open probe to succeed',
    );

    expect(h.standIn.calls).toBe(4);
    expect((await readHealth(await h.get('/health/deps'))).details.superfone).toEqual({
      status: 'up',
      circuit: 'closed',
    });
  });

  it('does not count a rejected server key as an outage', async () => {
    h.standIn.setBehaviour({ kind: 'status', status: 401 });
    for (let i = 0; i < 5; i++)
      expect((await readProblem(await h.get('/numbers/available', read))).code).toBe(
        'UPSTREAM_AUTH_FAILED',
      );

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
    const first = await readNumbers(await h.get('/numbers/available', read));
    h.standIn.setBehaviour({ kind: 'status', status: 500 });
    // Once stale, the background refresh fails and opens the circuit.
    await eventually(async () => {
      const res = await h.get('/numbers/available', read);
      return res.headers.get('cache-status')?.endsWith('stale-if-error') ? res : undefined;
    }, 'a stale-if-error answer');

    const res = await h.get('/numbers/available', read);
    expect(res.status).toBe(200);
    expect((await readNumbers(res)).meta.fetchedAt).toBe(first.meta.fetchedAt);
    expect(h.standIn.calls).toBe(2);
  });
});
