import { expect } from '@jest/globals';
import { KEYS } from './support/client-keys.fixture';
import { openRaw, parseRaw, RawConnection, within } from './support/raw-http';
import { Harness, startHarness } from './support/test-app';
import { eventually } from './support/timing';
import { MetricsServer } from '../src/metrics/metrics.server';

/**
 * Clients that are slow on purpose or by accident: short deadlines here so the suite is quick;
 * each deadline is the setting's own, and the defaults are the same code with larger numbers.
 */
const HEADERS_MS = 400;
const REQUEST_MS = 700;
const KEEP_ALIVE_MS = 1500;
/** Node adds this to the keep-alive timeout before it closes (keepAliveTimeoutBuffer). */
const NODE_KEEP_ALIVE_BUFFER_MS = 1000;
/** How late an answer may be on a busy machine: Node looks every HEADERS_MS / 10, plus scheduling. */
const SLACK_MS = 1500;
/** The clocks of the client and of Node's check differ by a few milliseconds. */
const CLOCK_MS = 20;
/** Upper bound on any wait below: a failure, never a pause. */
const WAIT_MS = 10_000;

const GET_LIVE = 'GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n';

/** Resolves once a whole answer with a Content-Length body has arrived. */
const answered = (text: string) => {
  const [head, body = ''] = text.split('\r\n\r\n');
  const length = /\r\ncontent-length: (\d+)/i.exec(head)?.[1];
  return length !== undefined && Buffer.byteLength(body) >= Number(length);
};

describe('slow clients', () => {
  let h: Harness;
  const open: RawConnection[] = [];
  const connect = async () => {
    const connection = await openRaw(h.url);
    open.push(connection);
    return connection;
  };

  beforeAll(async () => {
    h = await startHarness({
      env: {
        HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
        HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS),
        HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS),
      },
    });
  });
  afterEach(() => {
    for (const connection of open.splice(0)) connection.destroy();
  });
  afterAll(async () => {
    await h.close();
  });

  /** The 408 a slow client gets: the same problem shape and headers as every other answer. */
  function expectRequestTimeoutProblem(text: string): void {
    const answer = parseRaw(text);
    expect(answer.status).toBe(408);
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(answer.headers).toContain('cache-control: no-store');
    expect(answer.headers).toContain('connection: close');
    expect(answer.headers).toContain('x-content-type-options: nosniff');
    expect(answer.headers).toContain(
      "content-security-policy: default-src 'none';frame-ancestors 'none'",
    );
    expect(answer.headers).toMatch(/\r\nx-request-id: \S+/);
    expect(answer.body).toMatchObject({ status: 408, code: 'REQUEST_TIMEOUT' });
  }

  it('answers headers that stall with a 408 problem at HTTP_HEADERS_TIMEOUT_MS, then closes', async () => {
    const connection = await connect();
    const start = Date.now();
    connection.write(`GET /numbers/available HTTP/1.1\r\nHost: x\r\nAuthorization: Bear`);

    const { text, at } = await within(connection.closed, WAIT_MS, 'close');

    expectRequestTimeoutProblem(text);
    expect(at - start).toBeGreaterThanOrEqual(HEADERS_MS - CLOCK_MS);
    expect(at - start).toBeLessThan(HEADERS_MS + SLACK_MS);
  });

  it('answers a body that stalls with a 408 problem at HTTP_REQUEST_TIMEOUT_MS, then closes', async () => {
    const connection = await connect();
    const start = Date.now();
    connection.write(
      `POST /apps/sfv_app_1/numbers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.linker}\r\n` +
        `Content-Type: application/json\r\nContent-Length: 30\r\n\r\n{"voipNumber":`,
    );

    const { text, at } = await within(connection.closed, WAIT_MS, 'close');

    expectRequestTimeoutProblem(text);
    // The deadline counts from the request's first byte, headers included.
    expect(at - start).toBeGreaterThanOrEqual(REQUEST_MS - CLOCK_MS);
    expect(at - start).toBeLessThan(REQUEST_MS + SLACK_MS);
  });

  it('closes a connection that never sends a byte, without an answer', async () => {
    const connection = await connect();
    const start = Date.now();

    const { text, at } = await within(connection.closed, WAIT_MS, 'close');

    expect(text).toBe('');
    expect(at - start).toBeGreaterThanOrEqual(HEADERS_MS - CLOCK_MS);
    expect(at - start).toBeLessThan(HEADERS_MS + SLACK_MS);
  });

  it('serves a request whose parts arrive slowly but within the deadlines', async () => {
    const connection = await connect();
    connection.write(
      `POST /numbers/available/refresh HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.refresher}\r\n`,
    );
    // A quarter of the header deadline between the parts: slow, with room for a busy machine.
    await new Promise((resolve) => setTimeout(resolve, HEADERS_MS / 4));
    connection.write('Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{');
    await new Promise((resolve) => setTimeout(resolve, HEADERS_MS / 4));
    connection.write('}');

    const text = await within(connection.receivedUntil(answered), WAIT_MS, 'answer');

    expect(parseRaw(text).status).toBe(200);
  });

  it('closes an idle keep-alive connection after HTTP_KEEP_ALIVE_TIMEOUT_MS without a byte', async () => {
    const connection = await connect();
    connection.write(GET_LIVE);
    const answer = await within(connection.receivedUntil(answered), WAIT_MS, 'answer');
    const idleSince = Date.now();

    const { text, at } = await within(connection.closed, WAIT_MS, 'close');

    expect(text).toBe(answer);
    expect(at - idleSince).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - CLOCK_MS);
    expect(at - idleSince).toBeLessThan(KEEP_ALIVE_MS + NODE_KEEP_ALIVE_BUFFER_MS + SLACK_MS);
  });

  it('keeps serving a keep-alive connection idle for longer than the header deadline', async () => {
    const connection = await connect();
    connection.write(GET_LIVE);
    const first = await within(connection.receivedUntil(answered), WAIT_MS, 'answer');
    // Idle on purpose: twice the header deadline, within the keep-alive one.
    await new Promise((resolve) => setTimeout(resolve, 2 * HEADERS_MS));

    connection.write(GET_LIVE);
    const both = await within(
      connection.receivedUntil((text) => answered(text.slice(first.length))),
      WAIT_MS,
      'second answer',
    );

    expect(parseRaw(both.slice(first.length)).status).toBe(200);
  });

  it('counts refusals before routing on /metrics, and logs the first of each code, not one line each', async () => {
    for (const payload of ['GET /health/live HTTP/1.1\r\nHost: x\r\nX-Sl', 'GET / HTP/9\r\n\r\n']) {
      const connection = await connect();
      connection.write(payload);
      await within(connection.closed, WAIT_MS, 'close');
    }
    const sample = (text: string, code: string) =>
      Number(
        new RegExp(`^superfone_bff_http_refused_early_total\\{code="${code}"\\} (\\d+)$`, 'm').exec(
          text,
        )?.[1] ?? 0,
      );
    // /metrics is rendered at most once a second: wait for a rendering that includes these.
    const metrics = await eventually(async () => {
      const text = await (await fetch(`${h.url}/metrics`)).text();
      return sample(text, 'INVALID_REQUEST') >= 1 ? text : undefined;
    }, 'the early refusals on /metrics');

    // Earlier tests in this suite timed out requests too: at least three 408s by now.
    const timeouts = sample(metrics, 'REQUEST_TIMEOUT');
    expect(timeouts).toBeGreaterThanOrEqual(3);
    const lines = h.logs
      .map((line) => JSON.parse(line) as { msg: string; code?: string; status?: number })
      .filter((line) => line.msg === 'request refused before routing');
    const timeoutLines = lines.filter((line) => line.code === 'REQUEST_TIMEOUT');
    expect(timeoutLines.length).toBeGreaterThanOrEqual(1);
    expect(timeoutLines.length).toBeLessThan(timeouts);
    expect(lines.filter((line) => line.code === 'INVALID_REQUEST')).toEqual([
      expect.objectContaining({ status: 400 }),
    ]);
  });
});

describe('HTTP_MAX_CONNECTIONS', () => {
  const CAP = 3;
  let h: Harness;
  let scrape: () => Promise<string>;
  const held: RawConnection[] = [];

  beforeAll(async () => {
    // /metrics on its own port, which the cap does not cover: scrapes still work at the cap.
    h = await startHarness({ env: { HTTP_MAX_CONNECTIONS: String(CAP), METRICS_PORT: '0' } });
    const metricsUrl = `http://127.0.0.1:${h.app.get(MetricsServer).port}/metrics`;
    scrape = async () => (await fetch(metricsUrl)).text();
  });
  afterAll(async () => {
    for (const connection of held) connection.destroy();
    await h.close();
  });

  const sample = (text: string, name: string) =>
    Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  const dropLines = () => h.logs.filter((line) => line.includes('HTTP_MAX_CONNECTIONS'));

  it('closes connections over the cap unanswered, and keeps serving the ones it holds', async () => {
    for (let i = 0; i < CAP; i++) {
      const connection = await openRaw(h.url);
      held.push(connection);
      connection.write(GET_LIVE);
      await within(connection.receivedUntil(answered), WAIT_MS, 'answer');
    }

    const over = await Promise.all([openRaw(h.url), openRaw(h.url)]);
    for (const connection of over) connection.write(GET_LIVE);
    const refused = await within(Promise.all(over.map((c) => c.closed)), WAIT_MS, 'close');

    expect(refused.map((r) => r.text)).toEqual(['', '']);
    for (const connection of held) {
      const before = connection.received().length;
      connection.write(GET_LIVE);
      const text = await within(
        connection.receivedUntil((t) => answered(t.slice(before))),
        WAIT_MS,
        'answer',
      );
      expect(parseRaw(text.slice(before)).status).toBe(200);
    }
    const metrics = await scrape();
    expect(sample(metrics, 'superfone_bff_http_connections_dropped_total')).toBe(2);
    expect(sample(metrics, 'superfone_bff_http_open_connections')).toBe(CAP);
    // The first drop is logged at once; the rest wait for the summary line (repeated-warning.ts).
    expect(dropLines()).toHaveLength(1);
    expect(JSON.parse(dropLines()[0])).toMatchObject({ level: 40, maxConnections: CAP });
  });

  it('takes a new connection once a held one closes', async () => {
    held.pop()?.destroy();
    await eventually(
      async () =>
        sample(await scrape(), 'superfone_bff_http_open_connections') === CAP - 1
          ? true
          : undefined,
      'the server to see the close',
    );

    const connection = await openRaw(h.url);
    held.push(connection);
    connection.write(GET_LIVE);

    const text = await within(connection.receivedUntil(answered), WAIT_MS, 'answer');
    expect(parseRaw(text).status).toBe(200);
  });
});
