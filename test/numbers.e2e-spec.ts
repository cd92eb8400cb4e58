import { demoNumbers } from '../tools/superfone-stand-in/superfone-stand-in';
import { bearer, Harness, KEYS, SERVER_KEY, startHarness } from './support/test-app';

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
    const body = await res.json();
    const expected = demoNumbers().map((n) => ({ id: n.id, voipNumber: n.voip_number, provider: n.provider, status: n.status }));
    expect(body).toEqual({ data: expected, meta: { count: expected.length, fetchedAt: expect.any(String) } });
    expect(Date.parse(body.meta.fetchedAt)).toBeGreaterThan(Date.now() - 5000);
  });
});
