import { OwnedRedis, startOwnedRedis } from './support/redis-server';
import { CLIENTS, clientKeyEntry, clientKeysJson, KEYS } from './support/client-keys.fixture';
import { Harness, startHarness, startSharedStandIn } from './support/test-app';
import { SuperfoneStandIn } from '../tools/superfone-stand-in/superfone-stand-in';

const LIMITED = 'sfb_limited-key-e2e-0000000000000000000009';
const CLIENT_KEYS = clientKeysJson([
  clientKeyEntry('limited-app', LIMITED, ['numbers:read'], 3),
  CLIENTS.reader,
]);
const env = { CLIENT_KEYS, RATE_LIMIT_PER_MINUTE: '50' };

/** Every request goes through the generated client (h.client). */
describe('per-client rate limits', () => {
  const harnesses: Harness[] = [];
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((h) => h.close()));
  });

  it("answers 429 to a client over its own limit, with the draft's headers, while other clients go on", async () => {
    const h = await startHarness({ env });
    harnesses.push(h);

    const bff = h.client(LIMITED);
    const allowed = [];
    for (let i = 0; i < 3; i++) allowed.push((await bff.GET('/numbers/available')).response);
    const { error, response: limited } = await bff.GET('/numbers/available');
    const { response: other } = await h.client(KEYS.reader).GET('/numbers/available');

    expect(allowed.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(allowed.map((r) => r.headers.get('ratelimit'))).toEqual([
      expect.stringMatching(/^"client";r=2;t=\d+$/),
      expect.stringMatching(/^"client";r=1;t=\d+$/),
      expect.stringMatching(/^"client";r=0;t=\d+$/),
    ]);
    expect(allowed[0].headers.get('ratelimit-policy')).toBe('"client";q=3;w=60');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get('ratelimit')).toMatch(/^"client";r=0;t=\d+$/);
    expect(error).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit-policy')).toBe('"client";q=50;w=60');
  });

  it('holds a limit across two instances on one Redis', async () => {
    const standIn: SuperfoneStandIn = await startSharedStandIn();
    try {
      const a = await startHarness({ env, standIn });
      harnesses.push(a);
      const b = await startHarness({ env, standIn, keyPrefix: a.keyPrefix });
      harnesses.push(b);

      const statuses = [];
      for (const h of [a, b, a, b])
        statuses.push((await h.client(LIMITED).GET('/numbers/available')).response.status);

      expect(statuses).toEqual([200, 200, 200, 429]);
    } finally {
      await standIn.stop();
    }
  });

  it('does not limit health probes', async () => {
    const h = await startHarness({ env: { ...env, RATE_LIMIT_PER_MINUTE: '1' } });
    harnesses.push(h);

    const probe = h.client();
    const probes = await Promise.all(
      Array.from({ length: 20 }, async (_, i) =>
        i % 2
          ? (await probe.GET('/health/live')).response
          : (await probe.GET('/health/ready')).response,
      ),
    );

    expect(probes.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(probes[0].headers.get('ratelimit')).toBeNull();
  });

  describe('with Redis down', () => {
    let owned: OwnedRedis;
    beforeEach(async () => {
      owned = await startOwnedRedis();
    });
    afterEach(async () => {
      await owned.stop();
    });

    it('falls back to counting in this process instead of refusing traffic', async () => {
      const h = await startHarness({ env, redisUrl: owned.url });
      harnesses.push(h);
      await owned.stop();

      const bff = h.client(LIMITED);
      const statuses = [];
      for (let i = 0; i < 4; i++)
        statuses.push((await bff.GET('/numbers/available')).response.status);

      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(
        h.logs.some((l) => l.includes('rate limits falling back to per-process counting')),
      ).toBe(true);
    });
  });
});
