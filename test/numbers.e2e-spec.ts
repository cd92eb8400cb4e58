import { expect } from '@jest/globals';
import type { SuperfoneBffClient } from '../clients/typescript/src';
import { demoNumbers } from '../tools/superfone-stand-in/superfone-stand-in';
import { KEYS } from './support/client-keys.fixture';
import { readProblem } from './support/bodies';
import { defined } from './support/defined';
import { bearer, Harness, SERVER_KEY, startHarness } from './support/test-app';

const normalized = () =>
  demoNumbers().map((n) => ({
    id: n.id,
    voipNumber: n.voip_number,
    provider: n.provider,
    status: n.status,
  }));

/** Through the generated client (h.client); raw fetch only for what the spec does not allow. */
describe('GET /numbers/available', () => {
  let h: Harness;
  let bff: SuperfoneBffClient;

  beforeEach(async () => {
    h = await startHarness();
    bff = h.client(KEYS.reader);
  });
  afterEach(async () => {
    await h.close();
  });

  it('answers the normalized list with its metadata', async () => {
    const { data, response } = await bff.GET('/numbers/available');

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = defined(data, 'the list');
    const expected = normalized();
    expect(body).toEqual({
      data: expected,
      meta: { count: expected.length, fetchedAt: expect.any(String) },
    });
    expect(Math.abs(Date.parse(body.meta.fetchedAt) - Date.now())).toBeLessThan(5000);
  });

  type Listed = ReturnType<typeof normalized>[number];
  it.each([
    ['provider=exotel', { provider: 'exotel' }, (n: Listed) => n.provider === 'exotel'],
    ['provider=PLIVO', { provider: 'PLIVO' }, (n: Listed) => n.provider === 'plivo'],
    ['status=inactive', { status: 'inactive' }, (n: Listed) => n.status === 'INACTIVE'],
    [
      'provider=Exotel&status=ACTIVE',
      { provider: 'Exotel', status: 'ACTIVE' },
      (n: Listed) => n.provider === 'exotel' && n.status === 'ACTIVE',
    ],
    ['provider=nobody', { provider: 'nobody' }, () => false],
  ])('filters case-insensitively: ?%s', async (_, query, keep) => {
    const { data, response } = await bff.GET('/numbers/available', { params: { query } });

    expect(response.status).toBe(200);
    const expected = normalized().filter(keep);
    const body = defined(data, 'the list');
    expect(body.data).toEqual(expected);
    expect(body.meta.count).toBe(expected.length);
  });

  /** A refused query: a 400 problem naming the route, and no call to Superfone. */
  const expectInvalidQuery = (
    response: Response,
    body: { status?: number; code?: string; instance?: string; detail?: string },
    detail: string,
  ) => {
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(body).toMatchObject({
      status: 400,
      code: 'INVALID_REQUEST',
      instance: '/numbers/available',
    });
    expect(body.detail).toContain(detail);
    expect(h.standIn.calls).toBe(0);
  };

  it.each([
    ['provider=', { provider: '' }, 'must be 1-64'],
    ['status=ACT%20IVE', { status: 'ACT IVE' }, 'must be 1-64'],
    [`provider=${'x'.repeat(65)}`, { provider: 'x'.repeat(65) }, 'must be 1-64'],
  ])('rejects ?%s with a 400 problem', async (_, query, detail) => {
    const { error, response } = await bff.GET('/numbers/available', { params: { query } });

    expectInvalidQuery(response, defined(error, 'the problem'), detail);
  });

  // Queries the client cannot send (an unknown parameter, one twice, a malformed escape): raw.
  it.each([
    ['foo=bar', 'Unknown query parameter "foo"'],
    ['provider=exotel&provider=plivo', 'may appear only once'],
    ['provider=%zz', 'must be 1-64'],
  ])('rejects ?%s with a 400 problem', async (query, detail) => {
    const res = await h.get(`/numbers/available?${query}`, bearer(KEYS.reader));

    expectInvalidQuery(res, await readProblem(res), detail);
  });

  it('echoes a sane X-Request-Id and generates one otherwise', async () => {
    const withRequestId = (id: string) =>
      bff.GET('/numbers/available', { params: { header: { 'X-Request-Id': id } } });
    const echoed = await withRequestId('trace-abc.123');
    const generated = await bff.GET('/numbers/available');
    const replaced = await withRequestId('bad id <script>');

    expect(echoed.response.headers.get('x-request-id')).toBe('trace-abc.123');
    expect(generated.response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(replaced.response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('puts the request id into problem bodies too', async () => {
    // A documented parameter with a value it does not allow: a 400 problem.
    const { error, response } = await bff.GET('/numbers/available', {
      params: { query: { provider: 'x y' }, header: { 'X-Request-Id': 'req-42' } },
    });

    expect(response.headers.get('x-request-id')).toBe('req-42');
    expect(error?.requestId).toBe('req-42');
  });

  it('serves a second request within the TTL from the cache, without calling Superfone', async () => {
    const first = await bff.GET('/numbers/available');
    const second = await bff.GET('/numbers/available', {
      params: { query: { provider: 'plivo' } },
    });

    expect(first.response.status).toBe(200);
    expect(second.response.status).toBe(200);
    expect(h.standIn.calls).toBe(1);
    expect(second.data?.meta.fetchedAt).toBe(defined(first.data, 'the list').meta.fetchedAt);
  });

  it("sends only the server key upstream, never the caller's credentials", async () => {
    // A cookie is no part of the spec: it goes as one of the client's extra headers.
    await h.client(KEYS.reader, { cookie: 'session=abc' }).GET('/numbers/available');

    const [request] = h.standIn.requests;
    expect(request.headers['x-api-key']).toBe(SERVER_KEY);
    expect(request.headers.authorization).toBeUndefined();
    expect(request.headers.cookie).toBeUndefined();
    expect(JSON.stringify(request.headers)).not.toContain(KEYS.reader);
  });

  it('adds security headers to every answer', async () => {
    const { response: ok } = await bff.GET('/numbers/available');
    // A path the spec does not have: raw fetch.
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
