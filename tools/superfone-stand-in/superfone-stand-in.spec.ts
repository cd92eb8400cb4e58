import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import {
  demoNumbers,
  SuperfoneStandIn,
  type StandInNumber,
  type StandInOptions,
} from './superfone-stand-in';

const KEY = 'sf-test-key';
const NUMBERS: StandInNumber[] = [
  { id: 1, voip_number: '+918000000001', provider: 'exotel', status: 'ACTIVE' },
  { id: 2, voip_number: '+918000000002', provider: 'plivo', status: 'INACTIVE' },
];
const ENVELOPE = { data: NUMBERS, message: 'success' };

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
}

/** The parsed JSON body, typed by the caller. */
async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** A node:http GET, for what fetch hides (socket errors, socket reuse). */
function rawGet(url: string, headers: Record<string, string>, agent?: Agent): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          reusedSocket: req.reusedSocket,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe(SuperfoneStandIn.name, () => {
  let sut: SuperfoneStandIn;
  let baseUrl: string;

  const start = async (options: Partial<StandInOptions> = {}): Promise<void> => {
    sut = new SuperfoneStandIn({ apiKey: KEY, numbers: NUMBERS, ...options });
    baseUrl = await sut.start();
  };
  const numbersUrl = (): string => `${baseUrl}/sfvopi/available-numbers`;
  const getNumbers = (headers: Record<string, string> = { 'x-api-key': KEY }): Promise<Response> =>
    fetch(numbersUrl(), { headers });

  afterEach(async () => {
    await sut.stop();
  });

  describe('serving available numbers', () => {
    beforeEach(() => start());

    it('resolves a base URL on 127.0.0.1 that ends in /superfone', () => {
      expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/superfone$/);
    });

    it('answers 200 with the success envelope as JSON', async () => {
      const res = await getNumbers();

      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await res.json()).toEqual(ENVELOPE);
    });

    it('accepts the header spelled X-API-Key and ignores a query string', async () => {
      const res = await fetch(`${numbersUrl()}?x=1`, { headers: { 'X-API-Key': KEY } });

      expect(res.status).toBe(200);
    });

    it('keeps connections alive between requests', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        await rawGet(numbersUrl(), { 'x-api-key': KEY }, agent);
        const second = await rawGet(numbersUrl(), { 'x-api-key': KEY }, agent);

        expect(second.reusedSocket).toBe(true);
      } finally {
        agent.destroy();
      }
    });

    it.each([
      ['missing', {}],
      ['empty', { 'x-api-key': '' }],
    ])(
      'answers 401 "Please Provide API Key" when the key is %s',
      async (_, headers: Record<string, string>) => {
        const res = await getNumbers(headers);

        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
        expect(await res.json()).toEqual({ message: 'UnAuthorized, Please Provide API Key' });
      },
    );

    it('answers 401 "Please Provide Valid API Key" when the key is wrong', async () => {
      const res = await getNumbers({ 'x-api-key': 'not-the-key' });

      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ message: 'UnAuthorized, Please Provide Valid API Key' });
    });

    it('checks the key before the scripted behaviour', async () => {
      sut.setBehaviour({ kind: 'status', status: 500 });

      const res = await getNumbers({ 'x-api-key': 'nope' });

      expect(res.status).toBe(401);
    });

    it.each([
      ['GET', '/superfone/sfvopi/apps/sfv_app_demo00000001'],
      ['PUT', '/superfone/sfvopi/apps/sfv_app_demo00000001/numbers'],
      ['GET', '/sfvopi/available-numbers'],
      ['GET', '/superfone/sfvopi/available-numbers/'],
      ['GET', '/__stand-in/stats'],
      ['POST', '/superfone/sfvopi/available-numbers'],
      ['DELETE', '/superfone/sfvopi/available-numbers'],
    ])('answers 404 to %s %s and does not count it as a call', async (method, path) => {
      const res = await fetch(`${new URL(baseUrl).origin}${path}`, {
        method,
        headers: { 'x-api-key': KEY },
      });

      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await res.json()).toEqual({ message: 'Not Found' });
      expect(sut.calls).toBe(0);
    });

    it('returns numbers that were replaced or mutated in place on the next call', async () => {
      await getNumbers();
      sut.numbers = [{ id: 9, voip_number: '+918000000009', provider: 'plivo', status: 'ACTIVE' }];
      expect((await json<{ data: unknown[] }>(await getNumbers())).data).toHaveLength(1);

      sut.numbers[0].status = 'INACTIVE';
      sut.numbers.push({
        id: 10,
        voip_number: '+918000000010',
        provider: 'exotel',
        status: 'ACTIVE',
      });

      expect((await json<{ data: unknown[] }>(await getNumbers())).data).toEqual([
        { id: 9, voip_number: '+918000000009', provider: 'plivo', status: 'INACTIVE' },
        { id: 10, voip_number: '+918000000010', provider: 'exotel', status: 'ACTIVE' },
      ]);
    });
  });

  describe('behaviours', () => {
    beforeEach(() => start());

    it('status: answers any status with a custom body, content type and headers', async () => {
      sut.setBehaviour({
        kind: 'status',
        status: 429,
        body: 'slow down',
        contentType: 'text/plain',
        headers: { 'retry-after': '7' },
      });

      const res = await getNumbers();

      expect(res.status).toBe(429);
      expect(res.headers.get('content-type')).toBe('text/plain');
      expect(res.headers.get('retry-after')).toBe('7');
      expect(await res.text()).toBe('slow down');
    });

    it('status: defaults to a JSON body, shaped like the documented 500', async () => {
      sut.setBehaviour({ kind: 'status', status: 500 });

      const res = await getNumbers();

      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect((await json<{ message: string }>(res)).message).toMatch(
        /^Failed to get available numbers: /,
      );
    });

    it('hang: never answers, and stop() still resolves and closes the socket', async () => {
      sut.setBehaviour({ kind: 'hang' });
      const pending = getNumbers();
      pending.catch(() => undefined);
      await sut.waitForCalls(1);

      await sut.stop();

      await expect(pending).rejects.toThrow();
    });

    it('reset: destroys the socket without any response', async () => {
      sut.setBehaviour({ kind: 'reset' });

      await expect(rawGet(numbersUrl(), { 'x-api-key': KEY })).rejects.toMatchObject({
        code: 'ECONNRESET',
      });
      expect(sut.calls).toBe(1);
    });

    it('non-json: answers 200 with an HTML page', async () => {
      sut.setBehaviour({ kind: 'non-json' });

      const res = await getNumbers();

      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await res.text()).toMatch(/^<html>.*<\/html>$/);
    });

    it('truncated: answers 200 JSON with the valid body cut in half', async () => {
      sut.setBehaviour({ kind: 'truncated' });

      const res = await getNumbers();
      const body = await res.text();

      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const full = JSON.stringify(ENVELOPE);
      expect(body).toBe(full.slice(0, Math.floor(full.length / 2)));
      expect(() => {
        JSON.parse(body);
      }).toThrow();
    });

    it('wrong-shape: answers 200 JSON that parses but is not the envelope', async () => {
      sut.setBehaviour({ kind: 'wrong-shape' });

      const res = await getNumbers();

      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ data: { numbers: [] }, message: 'success' });
    });

    it.each([
      ['ok', { kind: 'ok', delayMs: 150 }, 200],
      ['status', { kind: 'status', status: 503, delayMs: 150 }, 503],
    ] as const)('%s with delayMs answers after the delay', async (_, behaviour, status) => {
      sut.setBehaviour(behaviour);
      const startedAt = performance.now();

      const res = await getNumbers();

      expect(res.status).toBe(status);
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(145);
    });

    it('stop() does not wait for a delayed answer', async () => {
      sut.setBehaviour({ kind: 'ok', delayMs: 10_000 });
      const pending = getNumbers();
      pending.catch(() => undefined);
      await sut.waitForCalls(1);
      const startedAt = performance.now();

      await sut.stop();

      expect(performance.now() - startedAt).toBeLessThan(1000);
      await expect(pending).rejects.toThrow();
    });

    it('enqueue: consumes one-shot behaviours in order, then falls back to the persistent one', async () => {
      sut.setBehaviour({ kind: 'wrong-shape' });
      sut.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
      sut.enqueue({ kind: 'ok' });

      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await getNumbers()).status);
      const last = await getNumbers();

      expect(statuses).toEqual([500, 503, 200, 200]);
      expect(await last.json()).toEqual({ data: { numbers: [] }, message: 'success' });
    });

    it('enqueue: an unauthenticated call does not consume a queued behaviour', async () => {
      sut.enqueue({ kind: 'status', status: 500 });

      expect((await getNumbers({})).status).toBe(401);
      expect((await getNumbers({ 'x-api-key': 'wrong' })).status).toBe(401);
      expect((await getNumbers()).status).toBe(500);
      expect((await getNumbers()).status).toBe(200);
    });
  });

  describe('recording', () => {
    beforeEach(() => start());

    it('counts every available-numbers call, auth failures included, and only those', async () => {
      await getNumbers();
      await getNumbers({});
      await getNumbers({ 'x-api-key': 'wrong' });
      await fetch(`${baseUrl}/elsewhere`);

      expect(sut.calls).toBe(3);
    });

    it('records every request with method, path, lower-case headers and time', async () => {
      const before = Date.now();
      await getNumbers({ 'X-API-Key': KEY, 'X-Request-Id': 'req-1' });
      await fetch(`${baseUrl}/elsewhere?q=1`, { method: 'POST', body: 'x' });

      const [first, second] = sut.requests;
      expect(sut.requests).toHaveLength(2);
      expect(first).toMatchObject({ method: 'GET', path: '/superfone/sfvopi/available-numbers' });
      expect(first.headers).toMatchObject({ 'x-api-key': KEY, 'x-request-id': 'req-1' });
      expect(first.at).toBeGreaterThanOrEqual(before);
      expect(first.at).toBeLessThanOrEqual(Date.now());
      expect(second).toMatchObject({ method: 'POST', path: '/superfone/elsewhere?q=1' });
    });

    it('reset() zeroes calls, clears requests and the queue, and restores behaviour and numbers', async () => {
      sut.setBehaviour({ kind: 'status', status: 503 });
      sut.enqueue({ kind: 'non-json' }, { kind: 'non-json' });
      await getNumbers();
      sut.numbers = [];

      sut.reset();

      expect(sut.calls).toBe(0);
      expect(sut.requests).toEqual([]);
      const res = await getNumbers();
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(ENVELOPE);
    });

    it('reset() restores the constructor numbers even after in-place edits', () => {
      sut.numbers[0].provider = 'changed';

      sut.reset();

      expect(sut.numbers).toEqual(NUMBERS);
    });

    it('waitForCalls() resolves once enough calls arrived', async () => {
      const waiting = sut.waitForCalls(2);

      await getNumbers();
      await getNumbers({});

      await expect(waiting).resolves.toBeUndefined();
    });

    it('waitForCalls() resolves at once when already satisfied', async () => {
      await getNumbers();

      await expect(sut.waitForCalls(1, 10)).resolves.toBeUndefined();
    });

    it('waitForCalls() rejects with a clear message on timeout', async () => {
      await getNumbers();

      await expect(sut.waitForCalls(2, 50)).rejects.toThrow(
        'SuperfoneStandIn.waitForCalls: expected at least 2 calls to GET /superfone/sfvopi/available-numbers within 50 ms, saw 1',
      );
    });

    it('waitForCalls() rejects when the stand-in stops', async () => {
      const waiting = sut.waitForCalls(1);

      await sut.stop();

      await expect(waiting).rejects.toThrow(/stopped/);
    });

    it('maxRecordedRequests keeps only the most recent requests', async () => {
      await sut.stop();
      await start({ maxRecordedRequests: 1 });

      await fetch(`${baseUrl}/a`);
      await fetch(`${baseUrl}/b`);

      expect(sut.requests.map((r) => r.path)).toEqual(['/superfone/b']);
    });
  });

  describe('lifecycle', () => {
    it('listens on the given port and rejects a second start()', async () => {
      await start();
      const port = Number(new URL(baseUrl).port);
      await sut.stop();

      baseUrl = await sut.start(port);

      expect(new URL(baseUrl).port).toBe(String(port));
      await expect(sut.start()).rejects.toThrow(/already started/);
    });

    it('rejects start() when the port is taken', async () => {
      await start();
      const other = new SuperfoneStandIn({ apiKey: KEY });

      await expect(other.start(Number(new URL(baseUrl).port))).rejects.toMatchObject({
        code: 'EADDRINUSE',
      });
    });

    it('stop() is safe to call twice or before start()', async () => {
      sut = new SuperfoneStandIn({ apiKey: KEY });
      await expect(sut.stop()).resolves.toBeUndefined();
    });

    it('defaults numbers to demoNumbers()', () => {
      sut = new SuperfoneStandIn({ apiKey: KEY });

      expect(sut.numbers).toEqual(demoNumbers());
    });
  });

  describe('control API', () => {
    const control = (path: string, init?: RequestInit): Promise<Response> =>
      fetch(`${new URL(baseUrl).origin}/__stand-in/${path}`, init);
    const postBehaviour = (body: string): Promise<Response> =>
      control('behaviour', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });

    it('is off by default', async () => {
      await start();

      expect((await control('stats')).status).toBe(404);
      expect((await control('reset', { method: 'POST' })).status).toBe(404);
    });

    it('GET stats reports calls, and control routes are not calls', async () => {
      await start({ control: true });
      await getNumbers();
      await getNumbers({});
      await control('stats');

      const res = await control('stats');

      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await res.json()).toEqual({
        calls: 2,
        routes: {
          'available-numbers': 2,
          'list-apps': 0,
          'list-app-numbers': 0,
          link: 0,
          unlink: 0,
        },
      });
    });

    it('POST behaviour sets the persistent behaviour', async () => {
      await start({ control: true });

      const res = await postBehaviour(
        JSON.stringify({ kind: 'status', status: 503, headers: { 'retry-after': '2' } }),
      );

      expect(res.status).toBe(204);
      const answer = await getNumbers();
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('2');
      expect((await getNumbers()).status).toBe(503);
    });

    it.each([
      ['not JSON', '{'],
      ['not an object', '[]'],
      ['an unknown kind', '{"kind":"explode"}'],
      ['a bad status', '{"kind":"status","status":99}'],
      ['a negative delay', '{"kind":"ok","delayMs":-1}'],
      ['non-string headers', '{"kind":"status","status":500,"headers":{"retry-after":1}}'],
    ])('POST behaviour answers 400 to %s and keeps the behaviour', async (_, body) => {
      await start({ control: true });

      const res = await postBehaviour(body);

      expect(res.status).toBe(400);
      expect(typeof (await json<{ message: unknown }>(res)).message).toBe('string');
      expect((await getNumbers()).status).toBe(200);
    });

    it('POST reset resets the stand-in to its default behaviour', async () => {
      await start({ control: true, defaultBehaviour: { kind: 'ok', delayMs: 1 } });
      await postBehaviour('{"kind":"hang"}');
      await getNumbers({});

      const res = await control('reset', { method: 'POST' });

      expect(res.status).toBe(204);
      expect(sut.calls).toBe(0);
      expect((await getNumbers()).status).toBe(200);
    });

    it('answers 404 to unknown control routes', async () => {
      await start({ control: true });

      expect((await control('nope')).status).toBe(404);
      expect((await control('stats', { method: 'POST' })).status).toBe(404);
    });
  });
});

describe(demoNumbers.name, () => {
  it('returns 24 deterministic numbers, about 2 KB of JSON', () => {
    const sut = demoNumbers();

    expect(sut).toHaveLength(24);
    expect(demoNumbers()).toEqual(sut);
    const size = Buffer.byteLength(JSON.stringify({ data: sut, message: 'success' }));
    expect(size).toBeGreaterThan(1500);
    expect(size).toBeLessThan(2500);
  });

  it('uses ids from 10001, valid E.164 numbers, alternating providers and a few INACTIVE', () => {
    const sut = demoNumbers();

    expect(sut[0]).toEqual({
      id: 10001,
      voip_number: '+918000000001',
      provider: 'exotel',
      status: 'ACTIVE',
    });
    expect(sut.map((n) => n.id)).toEqual(Array.from({ length: 24 }, (_, i) => 10001 + i));
    for (const n of sut) expect(n.voip_number).toMatch(/^\+\d{10,15}$/);
    expect(new Set(sut.map((n) => n.voip_number)).size).toBe(24);
    expect(sut.map((n) => n.provider).slice(0, 4)).toEqual(['exotel', 'plivo', 'exotel', 'plivo']);
    const inactive = sut.filter((n) => n.status === 'INACTIVE').length;
    expect(inactive).toBeGreaterThan(0);
    expect(inactive).toBeLessThan(6);
    expect(sut.every((n) => n.status === 'ACTIVE' || n.status === 'INACTIVE')).toBe(true);
  });

  it('honours count and rejects a bad one', () => {
    expect(demoNumbers(3)).toHaveLength(3);
    expect(demoNumbers(0)).toEqual([]);
    expect(() => demoNumbers(-1)).toThrow(RangeError);
  });
});
