import { expect } from '@jest/globals';
import { demoNumbers } from '../tools/superfone-stand-in/superfone-stand-in';
import { KEYS } from './support/client-keys.fixture';
import { readNumbers, readProblem } from './support/bodies';
import { bearer, Harness, SERVER_KEY, startHarness } from './support/test-app';

const normalized = () =>
  demoNumbers().map((n) => ({
    id: n.id,
    voipNumber: n.voip_number,
    provider: n.provider,
    status: n.status,
  }));

describe('GET /numbers/available', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('answers the normalized list with its metadata', async () => {
    const res = await h.get('/numbers/available', bearer(KEYS.reader));

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await readNumbers(res);
    const expected = normalized();
    expect(body).toEqual({
      data: expected,
      meta: { count: expected.length, fetchedAt: expect.any(String) },
    });
    expect(Math.abs(Date.parse(body.meta.fetchedAt) - Date.now())).toBeLessThan(5000);
  });

  it.each([
    ['provider=exotel', (n: { provider: string }) => n.provider === 'exotel'],
    ['provider=PLIVO', (n: { provider: string }) => n.provider === 'plivo'],
    ['status=inactive', (n: { status: string }) => n.status === 'INACTIVE'],
    [
      'provider=Exotel&status=ACTIVE',
      (n: { provider: string; status: string }) => n.provider === 'exotel' && n.status === 'ACTIVE',
    ],
    ['provider=nobody', () => false],
  ])('filters case-insensitively: ?%s', async (query, keep) => {
    const res = await h.get(`/numbers/available?${query}`, bearer(KEYS.reader));

    expect(res.status).toBe(200);
    const expected = normalized().filter(keep as (n: unknown) => boolean);
    const body = await readNumbers(res);
    expect(body.data).toEqual(expected);
    expect(body.meta.count).toBe(expected.length);
  });

  it.each([
    ['foo=bar', 'Unknown query parameter "foo"'],
    ['provider=exotel&provider=plivo', 'may appear only once'],
    ['provider=', 'must be 1-64'],
    ['status=ACT%20IVE', 'must be 1-64'],
    [`provider=${'x'.repeat(65)}`, 'must be 1-64'],
    ['provider=%zz', 'must be 1-64'],
  ])('rejects ?%s with a 400 problem', async (query, detail) => {
    const res = await h.get(`/numbers/available?${query}`, bearer(KEYS.reader));

    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    const body = await readProblem(res);
    expect(body).toMatchObject({
      status: 400,
      code: 'INVALID_REQUEST',
      instance: '/numbers/available',
    });
    expect(body.detail).toContain(detail);
    expect(h.standIn.calls).toBe(0);
  });

  it('echoes a sane X-Request-Id and generates one otherwise', async () => {
    const echoed = await h.get('/numbers/available', {
      ...bearer(KEYS.reader),
      'x-request-id': 'trace-abc.123',
    });
    const generated = await h.get('/numbers/available', bearer(KEYS.reader));
    const replaced = await h.get('/numbers/available', {
      ...bearer(KEYS.reader),
      'x-request-id': 'bad id <script>',
    });

    expect(echoed.headers.get('x-request-id')).toBe('trace-abc.123');
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('puts the request id into problem bodies too', async () => {
    const res = await h.get('/numbers/available?x=1', {
      ...bearer(KEYS.reader),
      'x-request-id': 'req-42',
    });

    expect(res.headers.get('x-request-id')).toBe('req-42');
    expect((await readProblem(res)).requestId).toBe('req-42');
  });

  it('serves a second request within the TTL from the cache, without calling Superfone', async () => {
    const first = await h.get('/numbers/available', bearer(KEYS.reader));
    const second = await h.get('/numbers/available?provider=plivo', bearer(KEYS.reader));

    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(h.standIn.calls).toBe(1);
    expect((await readNumbers(second)).meta.fetchedAt).toBe(
      (await readNumbers(first)).meta.fetchedAt,
    );
  });

  it("sends only the server key upstream, never the caller's credentials", async () => {
    await h.get('/numbers/available', {
      authorization: `Bearer ${KEYS.reader}`,
      cookie: 'session=abc',
    });

    const [request] = h.standIn.requests;
    expect(request.headers['x-api-key']).toBe(SERVER_KEY);
    expect(request.headers.authorization).toBeUndefined();
    expect(request.headers.cookie).toBeUndefined();
    expect(JSON.stringify(request.headers)).not.toContain(KEYS.reader);
  });

  it('adds security headers to every answer', async () => {
    const ok = await h.get('/numbers/available', bearer(KEYS.reader));
    const problem = await h.get('/nope');

    for (const res of [ok, problem]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toBe(
        "default-src 'none';frame-ancestors 'none'",
      );
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('strict-transport-security')).toBe(
        'max-age=31536000; includeSubDomains',
      );
      expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('x-xss-protection')).toBeNull();
    }
  });
});
