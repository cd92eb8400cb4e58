import { expect } from '@jest/globals';
import { freePort } from '../tools/free-port';
import { readHealth, readProblem } from './support/bodies';
import { Harness, startHarness } from './support/test-app';

describe('health', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('reports live and ready without auth', async () => {
    h = await startHarness();

    const live = await h.get('/health/live');
    const ready = await h.get('/health/ready');

    expect(live.status).toBe(200);
    expect((await readHealth(live)).status).toBe('ok');
    expect(ready.status).toBe(200);
    expect((await readHealth(ready)).details).toEqual({
      lifecycle: { status: 'up', phase: 'serving' },
    });
  });

  it('reports Redis, the circuit and the cached copy on /health/deps', async () => {
    h = await startHarness();
    await h.get('/numbers/available', {
      authorization: 'Bearer sfb_reader-key-e2e-0000000000000000000001',
    });

    const res = await h.get('/health/deps');

    expect(res.status).toBe(200);
    expect((await readHealth(res)).details).toEqual({
      redis: { status: 'up', host: expect.stringMatching(/:\d+$/), latencyMs: expect.any(Number) },
      superfone: { status: 'up', circuit: 'closed' },
      cache: { status: 'up', ageSeconds: 0 },
    });
  });

  describe('with Redis unreachable', () => {
    it('stays ready by default: the service still serves', async () => {
      h = await startHarness({ redisUrl: `redis://127.0.0.1:${await freePort()}` });

      expect((await h.get('/health/ready')).status).toBe(200);
      const deps = await h.get('/health/deps');
      expect(deps.status).toBe(503);
      expect(await readProblem(deps)).toMatchObject({ checks: { redis: { status: 'down' } } });
    });

    it('turns unready when READINESS_REQUIRES_REDIS=true', async () => {
      h = await startHarness({
        redisUrl: `redis://127.0.0.1:${await freePort()}`,
        env: { READINESS_REQUIRES_REDIS: 'true' },
      });

      const ready = await h.get('/health/ready');

      expect(ready.status).toBe(503);
      expect(ready.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
      expect(await readProblem(ready)).toMatchObject({
        code: 'NOT_READY',
        checks: { redis: { status: 'down' } },
      });
    });
  });
});
