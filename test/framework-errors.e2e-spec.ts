import { expect } from '@jest/globals';
import { KEYS } from './support/client-keys.fixture';
import { readProblem } from './support/bodies';
import { bearer, Harness, startHarness } from './support/test-app';

/**
 * Errors raised by Nest or Fastify themselves still leave as problems. Raw fetch on purpose:
 * unknown routes, unparseable JSON and wrong media types are what the generated client cannot send.
 */
describe('framework errors', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const post = (body: string, contentType: string) =>
    fetch(`${h.url}/numbers/available/refresh`, {
      method: 'POST',
      headers: { ...bearer(KEYS.refresher), 'content-type': contentType },
      body,
    });

  it.each([
    ['an unknown route', () => h.get('/nope'), 404, 'NOT_FOUND'],
    ['an unknown route with a key', () => h.get('/numbers', bearer(KEYS.reader)), 404, 'NOT_FOUND'],
    ['unparseable JSON', () => post('{"a":', 'application/json'), 400, 'INVALID_REQUEST'],
    [
      'an unsupported media type',
      () => post('<a/>', 'application/xml'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a body over 16 KiB',
      () => post(JSON.stringify({ a: 'x'.repeat(20_000) }), 'application/json'),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
  ])('answers %s with a problem', async (_, send, status, code) => {
    const res = await send();

    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    const body = await readProblem(res);
    expect(body).toEqual({
      type: expect.stringMatching(/^urn:superfone-bff:problem:/),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      instance: expect.stringMatching(/^\//),
      code,
      requestId: res.headers.get('x-request-id'),
      traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(JSON.stringify(body)).not.toMatch(/at .*\.js|stack|Fastify|FST_/);
  });

  it('keeps serving after all of that', async () => {
    expect((await h.client().GET('/health/live')).response.status).toBe(200);
  });
});
