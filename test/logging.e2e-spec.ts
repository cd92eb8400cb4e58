import { expect } from '@jest/globals';
import { KEYS } from './support/client-keys.fixture';
import { parseLogLines } from './support/bodies';
import { bearer, Harness, SERVER_KEY, startHarness } from './support/test-app';

describe('logs', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const parsed = () => parseLogLines(h.logs);

  it('writes one JSON line per request with id, client, route, status, latency and cache result', async () => {
    await h.client(KEYS.reader).GET('/numbers/available', {
      params: { query: { provider: 'exotel' }, header: { 'X-Request-Id': 'log-test-1' } },
    });

    const lines = parsed().filter((l) => l.msg === 'request' && l.requestId === 'log-test-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      clientId: 'reader-app',
      method: 'GET',
      route: '/numbers/available',
      status: 200,
      durationMs: expect.any(Number),
      cache: 'miss',
    });
  });

  it('never writes a server or client key, whatever the request', async () => {
    // Malformed credentials, keys in the query and unknown paths: raw fetch, as hostile input.
    const hostile: Array<Record<string, string>> = [
      bearer(KEYS.reader),
      { 'x-api-key': KEYS.refresher },
      { authorization: `Bearer ${KEYS.refresher}`, 'x-api-key': KEYS.reader },
      { authorization: `Basic ${KEYS.reader}` },
      { 'x-api-key': SERVER_KEY },
      { authorization: `Bearer ${SERVER_KEY}` },
    ];
    for (const headers of hostile) {
      await h.get(`/numbers/available?provider=${encodeURIComponent(KEYS.reader)}`, headers);
      await h.get(`/nope/${KEYS.refresher}`, headers);
    }
    h.standIn.setBehaviour({ kind: 'status', status: 401 });
    await h.client(KEYS.refresher).POST('/numbers/available/refresh');

    const all = h.logs.join('\n');
    expect(h.logs.length).toBeGreaterThan(10);
    for (const secret of [SERVER_KEY, ...Object.values(KEYS)]) expect(all).not.toContain(secret);
  });
});
