import { expect } from '@jest/globals';
import { parseRaw, rawRequest } from './support/raw-http';
import { KEYS } from './support/client-keys.fixture';
import { readProblem } from './support/bodies';
import { bearer, Harness, startHarness } from './support/test-app';

const read = bearer(KEYS.reader);

/**
 * Each hostile request gets a 4xx problem, and the process keeps serving. Hostile requests go raw
 * (fetch or a socket) on purpose: the generated client cannot send them. The check that it still
 * serves goes through the client.
 */
describe('hostile requests', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const fetchCases: Array<[string, () => Promise<Response>, number, string]> = [
    [
      'invalid percent-encoding in a value',
      () => h.get('/numbers/available?provider=%zz', read),
      400,
      'INVALID_REQUEST',
    ],
    [
      'invalid percent-encoding in the path',
      () => h.get('/numbers/%zz', read),
      400,
      'INVALID_REQUEST',
    ],
    [
      'a repeated parameter',
      () => h.get('/numbers/available?status=ACTIVE&status=ACTIVE', read),
      400,
      'INVALID_REQUEST',
    ],
    [
      'an array-style parameter',
      () => h.get('/numbers/available?provider[]=x', read),
      400,
      'INVALID_REQUEST',
    ],
    [
      'a NUL byte in a value',
      () => h.get('/numbers/available?provider=a%00b', read),
      400,
      'INVALID_REQUEST',
    ],
    [
      'DELETE on the endpoint',
      () => fetch(`${h.url}/numbers/available`, { method: 'DELETE', headers: read }),
      405,
      'METHOD_NOT_ALLOWED',
    ],
    [
      'GET on the refresh route',
      () => h.get('/numbers/available/refresh', bearer(KEYS.refresher)),
      405,
      'METHOD_NOT_ALLOWED',
    ],
    [
      'PUT on a probe',
      () => fetch(`${h.url}/health/live`, { method: 'PUT' }),
      405,
      'METHOD_NOT_ALLOWED',
    ],
    [
      'garbage in Authorization',
      () => h.get('/numbers/available', { authorization: 'Bearer a b c' }),
      401,
      'UNAUTHENTICATED',
    ],
    ['a 4 KB path', () => h.get(`/${'a'.repeat(4000)}`, read), 404, 'NOT_FOUND'],
  ];

  it.each(fetchCases)('answers %s with a 4xx problem', async (_, send, status, code) => {
    const res = await send();

    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(await readProblem(res)).toMatchObject({ status, code });
    if (status === 405) expect(res.headers.get('allow')).toMatch(/^(GET, HEAD|POST)$/);
  });

  it('names the allowed methods on a 405', async () => {
    const res = await fetch(`${h.url}/numbers/available`, { method: 'PATCH', headers: read });

    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  const rawCases: Array<[string, string, number, string]> = [
    [
      'a 16 KB query string',
      `GET /numbers/available?provider=${'x'.repeat(16 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      431,
      'HEADERS_TOO_LARGE',
    ],
    [
      '~23 KB of headers',
      `GET /numbers/available HTTP/1.1\r\nHost: x\r\nX-Junk: ${'y'.repeat(23 * 1024)}\r\n\r\n`,
      431,
      'HEADERS_TOO_LARGE',
    ],
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400, 'INVALID_REQUEST'],
    ['a bad header line', 'GET / HTTP/1.1\r\nHost x\r\n\r\n', 400, 'INVALID_REQUEST'],
    [
      'an HTTP/1.1 request without Host',
      `GET /numbers/available HTTP/1.1\r\nAuthorization: Bearer ${KEYS.reader}\r\nConnection: close\r\n\r\n`,
      400,
      'INVALID_REQUEST',
    ],
    [
      'an Expect it does not understand',
      `GET /numbers/available HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nConnection: close\r\n\r\n`,
      417,
      'EXPECTATION_FAILED',
    ],
    [
      'a body on GET',
      `GET /numbers/available HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEYS.reader}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      400,
      'INVALID_REQUEST',
    ],
  ];

  it.each(rawCases)(
    'answers %s with a problem before routing',
    async (_, payload, status, code) => {
      const answer = parseRaw(await rawRequest(h.url, payload));

      expect(answer.status).toBe(status);
      expect(answer.headers).toContain('content-type: application/problem+json');
      expect(answer.body).toMatchObject({ status, code, requestId: expect.any(String) });
      // The promises of every answer hold for these too.
      expect(answer.headers).toContain('cache-control: no-store');
      expect(answer.headers).toContain(
        "content-security-policy: default-src 'none';frame-ancestors 'none'",
      );
      expect(answer.headers).toContain('x-content-type-options: nosniff');
      expect(answer.headers).toContain('x-frame-options: deny');
      expect(answer.headers).toMatch(/\r\nx-request-id: \S+/);
    },
  );

  it("serves /docs-json with the API's security headers, not the Swagger UI page's", async () => {
    const res = await h.get('/docs-json');
    await res.text();
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none';frame-ancestors 'none'",
    );
  });

  it('is still healthy and serving after all of them', async () => {
    expect((await h.client().GET('/health/live')).response.status).toBe(200);
    expect((await h.client(KEYS.reader).GET('/numbers/available')).response.status).toBe(200);
  });
});
