import { KEYS } from './support/client-keys.fixture';
import { readNumbers, readProblem } from './support/bodies';
import { bearer, Harness, startHarness } from './support/test-app';
import { eventually, until } from './support/timing';
import { defined } from './support/defined';

const read = bearer(KEYS.reader);

describe('the caching rules', () => {
  let h: Harness;

  afterEach(async () => {
    await h.close();
  });

  describe('with the default TTLs', () => {
    beforeEach(async () => {
      h = await startHarness();
    });

    it('answers a miss, then hits, with the caching headers', async () => {
      const miss = await h.get('/numbers/available', read);
      const hit = await h.get('/numbers/available', read);

      expect(miss.headers.get('cache-status')).toBe('superfone-bff; fwd=miss; stored');
      expect(miss.headers.get('cache-control')).toMatch(/^private, max-age=(29|30)$/);
      expect(miss.headers.get('age')).toBe('0');
      expect(hit.headers.get('cache-status')).toMatch(/^superfone-bff; hit; ttl=(29|30)$/);
      expect(hit.headers.get('etag')).toBe(miss.headers.get('etag'));
      expect(hit.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
      expect(h.standIn.calls).toBe(1);
    });

    it('answers 304 with no body when If-None-Match holds the current ETag', async () => {
      const first = await h.get('/numbers/available', read);
      const etag = defined(first.headers.get('etag'), 'the ETag');

      const exact = await h.get('/numbers/available', { ...read, 'if-none-match': etag });
      const weakInList = await h.get('/numbers/available', {
        ...read,
        'if-none-match': `"other", W/${etag}`,
      });
      const other = await h.get('/numbers/available', {
        ...read,
        'if-none-match': '"something-else"',
      });
      const filtered = await h.get('/numbers/available?provider=plivo', {
        ...read,
        'if-none-match': etag,
      });

      expect(exact.status).toBe(304);
      expect(await exact.text()).toBe('');
      expect(exact.headers.get('etag')).toBe(etag);
      expect(exact.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
      expect(weakInList.status).toBe(304);
      expect(other.status).toBe(200);
      expect(filtered.status).toBe(200);
      expect(filtered.headers.get('etag')).not.toBe(etag);
    });

    it('still checks the key before answering 304', async () => {
      const etag = defined(
        (await h.get('/numbers/available', read)).headers.get('etag'),
        'the ETag',
      );

      const res = await h.get('/numbers/available', { 'if-none-match': etag });

      expect(res.status).toBe(401);
    });

    it('shares one upstream call among 250 concurrent cold requests', async () => {
      h.standIn.setBehaviour({ kind: 'ok', delayMs: 100 });

      const responses = await Promise.all(
        Array.from({ length: 250 }, () => h.get('/numbers/available', read)),
      );

      expect(responses.map((r) => r.status)).toEqual(Array(250).fill(200));
      expect(h.standIn.calls).toBe(1);
      const fetchedAt = new Set(
        await Promise.all(responses.map(async (r) => (await readNumbers(r)).meta.fetchedAt)),
      );
      expect(fetchedAt.size).toBe(1);
    });

    it('refreshes on POST /numbers/available/refresh, replacing the cached copy', async () => {
      const before = await readNumbers(await h.get('/numbers/available', read));
      h.standIn.numbers = h.standIn.numbers.slice(1);

      const refreshed = await fetch(`${h.url}/numbers/available/refresh`, {
        method: 'POST',
        headers: bearer(KEYS.refresher),
      });
      const after = await h.get('/numbers/available', read);

      expect(refreshed.status).toBe(200);
      expect(refreshed.headers.get('cache-status')).toBe('superfone-bff; fwd=request; stored');
      const refreshedBody = await readNumbers(refreshed);
      expect(refreshedBody.meta.count).toBe(before.meta.count - 1);
      expect(after.headers.get('cache-status')).toMatch(/; hit;/);
      expect(await readNumbers(after)).toEqual(refreshedBody);
      expect(h.standIn.calls).toBe(2);
    });

    it('coalesces concurrent refreshes into one upstream call', async () => {
      h.standIn.setBehaviour({ kind: 'ok', delayMs: 100 });
      const post = () =>
        fetch(`${h.url}/numbers/available/refresh`, {
          method: 'POST',
          headers: bearer(KEYS.refresher),
        });

      const responses = await Promise.all(Array.from({ length: 20 }, post));

      expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(h.standIn.calls).toBe(1);
    });

    it('reports a failed refresh as the upstream problem and keeps the cached copy', async () => {
      await h.get('/numbers/available', read);
      h.standIn.setBehaviour({ kind: 'status', status: 500 });

      const refreshed = await fetch(`${h.url}/numbers/available/refresh`, {
        method: 'POST',
        headers: bearer(KEYS.refresher),
      });
      const after = await h.get('/numbers/available', read);

      expect(refreshed.status).toBe(502);
      expect((await readProblem(refreshed)).code).toBe('UPSTREAM_ERROR');
      expect(after.status).toBe(200);
      expect(after.headers.get('cache-status')).toMatch(/; hit;/);
    });
  });

  describe('with a 1-second TTL', () => {
    beforeEach(async () => {
      h = await startHarness({ env: { CACHE_TTL_SECONDS: '1', CACHE_STALE_SECONDS: '2' } });
    });

    it('serves stale at once, refreshes exactly once in the background, then serves fresh', async () => {
      const first = await readNumbers(await h.get('/numbers/available', read));
      const fetchedAt = Date.parse(first.meta.fetchedAt);
      await until(fetchedAt + 1000);
      h.standIn.setBehaviour({ kind: 'ok', delayMs: 300 });

      const stale = await Promise.all(
        Array.from({ length: 30 }, () => h.get('/numbers/available', read)),
      );

      for (const res of stale) {
        expect(res.status).toBe(200);
        expect(res.headers.get('cache-status')).toMatch(
          /^superfone-bff; hit; ttl=-\d+; detail=stale$/,
        );
        expect(res.headers.get('cache-control')).toBe('private, max-age=0');
        expect(Number(res.headers.get('age'))).toBeGreaterThanOrEqual(1);
      }
      expect(
        new Set(await Promise.all(stale.map(async (r) => (await readNumbers(r)).meta.fetchedAt))),
      ).toEqual(new Set([first.meta.fetchedAt]));
      await h.standIn.waitForCalls(2);
      const fresh = await eventually(async () => {
        const res = await h.get('/numbers/available', read);
        return /; hit; ttl=\d+$/.test(res.headers.get('cache-status') ?? '') ? res : undefined;
      }, 'the background refresh to land');
      expect(Date.parse((await readNumbers(fresh)).meta.fetchedAt)).toBeGreaterThan(fetchedAt);
      expect(h.standIn.calls).toBe(2);
    });

    it('serves the stale copy while Superfone fails, then the error once the stale window is over', async () => {
      const first = await readNumbers(await h.get('/numbers/available', read));
      const fetchedAt = Date.parse(first.meta.fetchedAt);
      await until(fetchedAt + 1000);
      h.standIn.setBehaviour({ kind: 'status', status: 503 });

      const duringRefresh = await h.get('/numbers/available', read);
      await h.standIn.waitForCalls(2);
      const afterFailure = await eventually(async () => {
        const res = await h.get('/numbers/available', read);
        return res.headers.get('cache-status')?.endsWith('detail=stale-if-error') ? res : undefined;
      }, 'a stale-if-error answer');

      expect(duringRefresh.status).toBe(200);
      expect(afterFailure.status).toBe(200);
      expect((await readNumbers(afterFailure)).meta.fetchedAt).toBe(first.meta.fetchedAt);

      await until(fetchedAt + 3000);
      const expired = await h.get('/numbers/available', read);
      expect(expired.status).toBe(502);
      expect((await readProblem(expired)).code).toBe('UPSTREAM_ERROR');
    });
  });
});
