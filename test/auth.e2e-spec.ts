import { expect } from '@jest/globals';
import { KEYS } from './support/client-keys.fixture';
import { parseRaw, rawRequest } from './support/raw-http';
import { readProblem } from './support/bodies';
import { Harness, startHarness } from './support/test-app';

/**
 * Credentials as the spec describes them (Authorization: Bearer, X-API-Key) go through the
 * generated client: its key, or none, plus the X-API-Key header. Malformed Authorization values
 * go raw (h.get), repeated headers over a raw socket.
 */
describe('client authentication', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  /** The client's bearer key (none when undefined), and its extra headers. */
  type Credentials = [key: string | undefined, headers: Record<string, string>];

  it.each<[string, ...Credentials]>([
    ['Authorization: Bearer', KEYS.reader, {}],
    // The auth scheme is case-insensitive (RFC 9110): the client's header, its scheme lower-cased.
    ['Authorization: bearer (any case)', undefined, { authorization: `bearer ${KEYS.reader}` }],
    ['X-API-Key', undefined, { 'x-api-key': KEYS.reader }],
    ['both headers with the same key', KEYS.reader, { 'x-api-key': KEYS.reader }],
  ])('admits a configured key sent as %s', async (_, key, headers) => {
    const { response } = await h.client(key, headers).GET('/numbers/available');

    expect(response.status).toBe(200);
  });

  it.each<[string, ...Credentials, string]>([
    ['no credentials', undefined, {}, 'Bearer realm="superfone-bff"'],
    ['an unknown bearer key', 'sfb_not-a-configured-key', {}, 'error="invalid_token"'],
    [
      'an unknown X-API-Key',
      undefined,
      { 'x-api-key': 'sfb_not-a-configured-key' },
      'error="invalid_token"',
    ],
    ['two different keys', KEYS.reader, { 'x-api-key': KEYS.refresher }, 'realm'],
    ['an oversized key', undefined, { 'x-api-key': 'k'.repeat(600) }, 'realm'],
  ])('answers 401 to %s', async (_, key, headers, challenge) => {
    const { error, response } = await h.client(key, headers).GET('/numbers/available');

    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(response.headers.get('www-authenticate')).toContain(challenge);
    expect(error).toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
      title: expect.any(String),
    });
  });

  // Authorization values outside both documented schemes: sent raw.
  it.each([
    [
      'a Basic Authorization',
      { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      'realm',
    ],
    ['a bare Bearer', { authorization: 'Bearer' }, 'realm'],
    // A valid key inside a malformed header is still refused: the scheme must come first, alone.
    ['a valid key after another scheme', { authorization: `Token Bearer ${KEYS.reader}` }, 'realm'],
    ['a valid key with a trailing word', { authorization: `Bearer ${KEYS.reader} extra` }, 'realm'],
    ['garbage in Authorization', { authorization: '\u00ff\u00fe;;' }, 'realm'],
  ])('answers 401 to %s', async (_, headers, challenge) => {
    const res = await h.get('/numbers/available', headers);

    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(res.headers.get('www-authenticate')).toContain(challenge);
    expect(await readProblem(res)).toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
      title: expect.any(String),
    });
  });

  it.each([
    [
      'two Authorization headers, valid then invalid',
      'Authorization: Bearer VALID',
      'Authorization: Bearer sfb_nope',
    ],
    [
      'two Authorization headers, invalid then valid',
      'Authorization: Bearer sfb_nope',
      'Authorization: Bearer VALID',
    ],
    [
      'two Authorization headers, both valid',
      'Authorization: Bearer VALID',
      'authorization: Bearer VALID',
    ],
    ['two X-API-Key headers, valid then invalid', 'X-API-Key: VALID', 'X-API-Key: sfb_nope'],
    ['two X-API-Key headers, both valid', 'X-API-Key: VALID', 'x-api-key: VALID'],
  ])('answers 401 to %s', async (_, first, second) => {
    const callsBefore = h.standIn.calls;
    const head = [first, second].map((line) => line.replace('VALID', KEYS.reader)).join('\r\n');
    const { status, headers, body } = parseRaw(
      await rawRequest(
        h.url,
        `GET /numbers/available HTTP/1.1\r\nHost: x\r\n${head}\r\nConnection: close\r\n\r\n`,
      ),
    );

    expect(status).toBe(401);
    expect(headers).toContain('www-authenticate: bearer realm="superfone-bff"');
    expect(body).toMatchObject({
      code: 'UNAUTHENTICATED',
      detail: expect.stringMatching(/^Send one /),
    });
    expect(h.standIn.calls).toBe(callsBefore);
  });

  it('answers 403 when the key lacks numbers:read', async () => {
    const { error, response } = await h.client(KEYS.refreshOnly).GET('/numbers/available');

    expect(response.status).toBe(403);
    expect(error).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
      detail: expect.stringContaining('numbers:read'),
    });
  });

  it('answers 403 when the key lacks numbers:refresh on the refresh route', async () => {
    const { error, response } = await h.client(KEYS.reader).POST('/numbers/available/refresh');

    expect(response.status).toBe(403);
    expect(error).toMatchObject({
      code: 'FORBIDDEN',
      detail: expect.stringContaining('numbers:refresh'),
    });
  });

  it('checks credentials before calling Superfone', async () => {
    const before = h.standIn.calls;
    await h.client(undefined, { 'x-api-key': 'wrong' }).GET('/numbers/available');

    expect(h.standIn.calls).toBe(before);
  });

  it('needs no key for the health probes', async () => {
    const anonymous = h.client();
    expect((await anonymous.GET('/health/live')).response.status).toBe(200);
    expect((await anonymous.GET('/health/ready')).response.status).toBe(200);
  });
});
