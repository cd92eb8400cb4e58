import { expect } from '@jest/globals';
import { connect } from 'node:net';
import { AuthFailureDelay } from '../src/auth/auth-failure-delay';
import { parseLogLines, readProblem } from './support/bodies';
import { CLIENTS, clientKeyEntry, clientKeysJson, KEYS } from './support/client-keys.fixture';
import { bearer, Harness, startHarness } from './support/test-app';
import { eventually } from './support/timing';

const BAD_KEY = bearer('sfb_not-a-configured-key');
const LIMITED = 'sfb_refused-limited-key-0000000000000000001';
const CLIENT_KEYS = clientKeysJson([
  CLIENTS.reader,
  clientKeyEntry('limited-app', LIMITED, ['numbers:read'], 1),
]);

interface Summary {
  readonly periodMs: number;
  readonly total: number;
  readonly refused: readonly Record<string, unknown>[];
}

const requestLines = (h: Harness, status: number) =>
  parseLogLines(h.logs).filter((l) => l.msg === 'request' && l.status === status);
const summaries = (h: Harness) =>
  parseLogLines(h.logs).filter((l) => l.msg === 'refused requests') as unknown as Summary[];
const summarized = (h: Harness, code: string, field: 'count' | 'clientLeft' = 'count') =>
  summaries(h)
    .flatMap((s) => s.refused)
    .filter((r) => r.code === code)
    .reduce((n, r) => n + Number(r[field] ?? 0), 0);

/** Waits until `h` has answered or dropped every 401 it held back. */
const noneHeldBack = (h: Harness) =>
  eventually(
    () => (h.app.get(AuthFailureDelay).pendingCount === 0 ? true : undefined),
    'no pending 401',
  );

describe('refused requests (401, 429) in the log', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness({ env: { CLIENT_KEYS, LOG_SUMMARY_INTERVAL_MS: '300' } });
  });
  afterEach(async () => {
    await h.close();
  });

  it('counts bad-key requests into one summary line per interval instead of a line each', async () => {
    const N = 40;
    const answers = await Promise.all(
      Array.from({ length: N }, () => h.get('/numbers/available', BAD_KEY)),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(N).fill(401));

    await eventually(
      () => (summarized(h, 'UNAUTHENTICATED') === N ? true : undefined),
      `summary lines counting ${N} 401s`,
    );
    // One example in full per interval, however the 40 fell across intervals.
    const lines = summaries(h);
    expect(requestLines(h, 401)).toHaveLength(lines.length);
    expect(lines.length).toBeLessThan(N);
    expect(lines[0]).toMatchObject({
      level: 30,
      context: 'http',
      periodMs: expect.any(Number),
      total: expect.any(Number),
      refused: [{ status: 401, code: 'UNAUTHENTICATED', count: expect.any(Number) }],
    });
    // The metrics still count every request.
    const scrape = await (await h.get('/metrics')).text();
    expect(scrape).toContain(
      `superfone_bff_http_request_duration_seconds_count{route="/numbers/available",method="GET",status_code="401"} ${N}`,
    );
  });

  it('still logs every admitted request, one line each', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await h.get('/numbers/available', bearer(KEYS.reader))).status).toBe(200);
    }
    await h.get('/numbers/available', BAD_KEY);

    expect(requestLines(h, 200)).toHaveLength(3);
    expect(requestLines(h, 401)).toHaveLength(1);
  });

  it('summarizes 429s by client', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await h.get('/numbers/available', bearer(LIMITED))).status);
    expect(statuses).toEqual([200, 429, 429, 429, 429]);

    await eventually(
      () => (summarized(h, 'RATE_LIMITED') === 4 ? true : undefined),
      'a summary counting 4 429s',
    );
    const refusals = summaries(h).flatMap((s) => s.refused);
    expect(refusals.every((r) => r.clientId === 'limited-app' && r.status === 429)).toBe(true);
    expect(requestLines(h, 429).map((l) => (l as { clientId?: string }).clientId)).toEqual(
      Array(summaries(h).length).fill('limited-app'),
    );
  });
});

describe('closing the app', () => {
  it('writes the pending summary when the app closes', async () => {
    const h = await startHarness({ env: { LOG_SUMMARY_INTERVAL_MS: '600000' } });
    try {
      await Promise.all([1, 2, 3].map(() => h.get('/numbers/available', BAD_KEY)));
      expect(summaries(h)).toEqual([]);
    } finally {
      await h.close();
    }

    expect(summaries(h)).toEqual([
      expect.objectContaining({
        total: 3,
        refused: [{ status: 401, code: 'UNAUTHENTICATED', count: 3 }],
      }),
    ]);
  });
});

describe('AUTH_FAILURE_DELAY_MS', () => {
  it('answers a bad key no sooner than the delay, with the whole 401 problem', async () => {
    const DELAY_MS = 300;
    const h = await startHarness({ env: { AUTH_FAILURE_DELAY_MS: String(DELAY_MS) } });
    try {
      const started = performance.now();
      const res = await h.get('/numbers/available?provider=exotel', {
        ...BAD_KEY,
        'x-request-id': 'tarpit-1',
      });
      const elapsed = performance.now() - started;

      expect(elapsed).toBeGreaterThanOrEqual(DELAY_MS);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
      expect(res.headers.get('www-authenticate')).toBe(
        'Bearer realm="superfone-bff", error="invalid_token"',
      );
      expect(res.headers.get('x-request-id')).toBe('tarpit-1');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await readProblem(res)).toEqual({
        type: expect.stringContaining('unauthenticated'),
        title: expect.any(String),
        status: 401,
        detail: 'The client key is not valid.',
        instance: '/numbers/available',
        code: 'UNAUTHENTICATED',
        requestId: 'tarpit-1',
        traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
    } finally {
      await h.close();
    }
  });

  it('costs nothing more when the client hangs up during the delay', async () => {
    const h = await startHarness({
      env: { AUTH_FAILURE_DELAY_MS: '5000', LOG_SUMMARY_INTERVAL_MS: '600000' },
    });
    try {
      const { hostname, port } = new URL(h.url);
      const socket = connect(Number(port), hostname);
      socket.on('error', () => undefined);
      socket.write('GET /numbers/available HTTP/1.1\r\nHost: x\r\nX-API-Key: sfb_nope\r\n\r\n');
      await eventually(
        () => (h.app.get(AuthFailureDelay).pendingCount === 1 ? true : undefined),
        'the 401 to be held back',
      );

      socket.destroy();
      await noneHeldBack(h);
    } finally {
      await h.close();
    }

    expect(requestLines(h, 401)).toEqual([]);
    expect(summaries(h)).toEqual([
      expect.objectContaining({
        total: 1,
        refused: [{ status: 401, code: 'UNAUTHENTICATED', count: 1, clientLeft: 1 }],
      }),
    ]);
  });

  it('does not hold up closing the app: pending 401s are answered at once', async () => {
    const DELAY_MS = 5000;
    const h = await startHarness({ env: { AUTH_FAILURE_DELAY_MS: String(DELAY_MS) } });
    const answer = h.get('/numbers/available', BAD_KEY);
    await eventually(
      () => (h.app.get(AuthFailureDelay).pendingCount === 1 ? true : undefined),
      'the 401 to be held back',
    );

    const started = performance.now();
    await h.close();
    const closedAfter = performance.now() - started;

    const res = await answer;
    expect(res.status).toBe(401);
    expect(await readProblem(res)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    // The one upper bound here is the delay itself: close must not have waited for it.
    expect(closedAfter).toBeLessThan(DELAY_MS);
  });
});
