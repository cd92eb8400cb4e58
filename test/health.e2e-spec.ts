import { expect } from '@jest/globals';
import { freePort } from '../tools/free-port';
import { KEYS } from './support/client-keys.fixture';
import { Harness, startHarness } from './support/test-app';

/** The probes through the generated client, with no key (they need none). */
describe('health', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('reports live and ready without auth', async () => {
    h = await startHarness();
    const probe = h.client();

    const live = await probe.GET('/health/live');
    const ready = await probe.GET('/health/ready');

    expect(live.response.status).toBe(200);
    expect(live.data?.status).toBe('ok');
    expect(ready.response.status).toBe(200);
    expect(ready.data?.details).toEqual({
      lifecycle: { status: 'up', phase: 'serving' },
    });
  });

  it('reports Redis, the circuit and the cached copy on /health/deps', async () => {
    h = await startHarness();
    await h.client(KEYS.reader).GET('/numbers/available');

    const { data, response } = await h.client().GET('/health/deps');

    expect(response.status).toBe(200);
    expect(data?.details).toEqual({
      redis: { status: 'up', host: expect.stringMatching(/:\d+$/), latencyMs: expect.any(Number) },
      superfone: { status: 'up', circuit: 'closed' },
      cache: { status: 'up', ageSeconds: 0 },
    });
  });

  describe('with Redis unreachable', () => {
    it('stays ready by default: the service still serves', async () => {
      h = await startHarness({ redisUrl: `redis://127.0.0.1:${await freePort()}` });

      const probe = h.client();
      expect((await probe.GET('/health/ready')).response.status).toBe(200);
      const deps = await probe.GET('/health/deps');
      expect(deps.response.status).toBe(503);
      // `checks` is an extension of this problem that the Problem schema does not name.
      expect(deps.error).toMatchObject({ checks: { redis: { status: 'down' } } });
    });

    it('turns unready when READINESS_REQUIRES_REDIS=true', async () => {
      h = await startHarness({
        redisUrl: `redis://127.0.0.1:${await freePort()}`,
        env: { READINESS_REQUIRES_REDIS: 'true' },
      });

      const { error, response } = await h.client().GET('/health/ready');

      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
      expect(error).toMatchObject({
        code: 'NOT_READY',
        checks: { redis: { status: 'down' } },
      });
    });
  });
});
