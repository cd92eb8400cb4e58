import type { SuperfoneBffClient } from '../clients/typescript/src';
import { KEYS } from './support/client-keys.fixture';
import { Harness, startHarness } from './support/test-app';
import { eventually, until } from './support/timing';
import { defined } from './support/defined';

/** Every request goes through the generated client (h.client). */
describe('the caching rules', () => {
  let h: Harness;
  /** A numbers:read client, and its GET /numbers/available. */
  let reader: SuperfoneBffClient;
  const list = () => reader.GET('/numbers/available');
  /** The fetch time of a list answer. */
  const fetchedAt = ({ data }: Awaited<ReturnType<typeof list>>) =>
    defined(data, 'the list').meta.fetchedAt;
  const refresh = () => h.client(KEYS.refresher).POST('/numbers/available/refresh');

  afterEach(async () => {
    await h.close();
  });

  describe('with the default TTLs', () => {
    beforeEach(async () => {
      h = await startHarness();
      reader = h.client(KEYS.reader);
    });

    it('answers a miss, then hits, with the caching headers', async () => {
      const { response: miss } = await list();
      const { response: hit } = await list();

      expect(miss.headers.get('cache-status')).toBe('superfone-bff; fwd=miss; stored');
      expect(miss.headers.get('cache-control')).toMatch(/^private, max-age=(29|30)$/);
      expect(miss.headers.get('age')).toBe('0');
      expect(hit.headers.get('cache-status')).toMatch(/^superfone-bff; hit; ttl=(29|30)$/);
      expect(hit.headers.get('etag')).toBe(miss.headers.get('etag'));
      expect(hit.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
      expect(h.standIn.calls).toBe(1);
    });

    it('answers 304 with no body when If-None-Match holds the current ETag', async () => {
      const first = await list();
      const etag = defined(first.response.headers.get('etag'), 'the ETag');
      const ifNoneMatch = (value: string, query: { provider?: string } = {}) =>
        reader.GET('/numbers/available', {
          params: { query, header: { 'If-None-Match': value } },
        });

      const exact = await ifNoneMatch(etag);
      const weakInList = await ifNoneMatch(`"other", W/${etag}`);
      const other = await ifNoneMatch('"something-else"');
      const filtered = await ifNoneMatch(etag, { provider: 'plivo' });

      expect(exact.response.status).toBe(304);
      // The client hands a 304's body back as `error`, the empty text it read (if it read any).
      expect(exact.data).toBeUndefined();
      expect(exact.error ?? '').toBe('');
      expect(exact.response.headers.get('etag')).toBe(etag);
      expect(exact.response.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
      expect(weakInList.response.status).toBe(304);
      expect(other.response.status).toBe(200);
      expect(filtered.response.status).toBe(200);
      expect(filtered.response.headers.get('etag')).not.toBe(etag);
    });

    it('still checks the key before answering 304', async () => {
      const etag = defined((await list()).response.headers.get('etag'), 'the ETag');

      const { response } = await h.client().GET('/numbers/available', {
        params: { header: { 'If-None-Match': etag } },
      });

      expect(response.status).toBe(401);
    });

    it('shares one upstream call among 250 concurrent cold requests', async () => {
      h.standIn.setBehaviour({ kind: 'ok', delayMs: 100 });

      const answers = await Promise.all(Array.from({ length: 250 }, list));

      expect(answers.map((a) => a.response.status)).toEqual(Array(250).fill(200));
      expect(h.standIn.calls).toBe(1);
      expect(new Set(answers.map(fetchedAt)).size).toBe(1);
    });

    it('refreshes on POST /numbers/available/refresh, replacing the cached copy', async () => {
      const before = defined((await list()).data, 'the list');
      h.standIn.numbers = h.standIn.numbers.slice(1);

      const refreshed = await refresh();
      const after = await list();

      expect(refreshed.response.status).toBe(200);
      expect(refreshed.response.headers.get('cache-status')).toBe(
        'superfone-bff; fwd=request; stored',
      );
      const refreshedBody = defined(refreshed.data, 'the refreshed list');
      expect(refreshedBody.meta.count).toBe(before.meta.count - 1);
      expect(after.response.headers.get('cache-status')).toMatch(/; hit;/);
      expect(after.data).toEqual(refreshedBody);
      expect(h.standIn.calls).toBe(2);
    });

    it('coalesces concurrent refreshes into one upstream call', async () => {
      h.standIn.setBehaviour({ kind: 'ok', delayMs: 100 });

      const answers = await Promise.all(Array.from({ length: 20 }, refresh));

      expect(answers.map((a) => a.response.status)).toEqual(Array(20).fill(200));
      expect(h.standIn.calls).toBe(1);
    });

    it('reports a failed refresh as the upstream problem and keeps the cached copy', async () => {
      await list();
      h.standIn.setBehaviour({ kind: 'status', status: 500 });

      const refreshed = await refresh();
      const after = await list();

      expect(refreshed.response.status).toBe(502);
      expect(refreshed.error?.code).toBe('UPSTREAM_ERROR');
      expect(after.response.status).toBe(200);
      expect(after.response.headers.get('cache-status')).toMatch(/; hit;/);
    });
  });

  describe('with a 1-second TTL', () => {
    beforeEach(async () => {
      h = await startHarness({ env: { CACHE_TTL_SECONDS: '1', CACHE_STALE_SECONDS: '2' } });
      reader = h.client(KEYS.reader);
    });

    it('serves stale at once, refreshes exactly once in the background, then serves fresh', async () => {
      const first = fetchedAt(await list());
      const firstAt = Date.parse(first);
      await until(firstAt + 1000);
      h.standIn.setBehaviour({ kind: 'ok', delayMs: 300 });

      const stale = await Promise.all(Array.from({ length: 30 }, list));

      for (const { response } of stale) {
        expect(response.status).toBe(200);
        expect(response.headers.get('cache-status')).toMatch(
          /^superfone-bff; hit; ttl=-\d+; detail=stale$/,
        );
        expect(response.headers.get('cache-control')).toBe('private, max-age=0');
        expect(Number(response.headers.get('age'))).toBeGreaterThanOrEqual(1);
      }
      expect(new Set(stale.map(fetchedAt))).toEqual(new Set([first]));
      await h.standIn.waitForCalls(2);
      const fresh = await eventually(async () => {
        const answer = await list();
        const status = answer.response.headers.get('cache-status') ?? '';
        return /; hit; ttl=\d+$/.test(status) ? answer : undefined;
      }, 'the background refresh to land');
      expect(Date.parse(fetchedAt(fresh))).toBeGreaterThan(firstAt);
      expect(h.standIn.calls).toBe(2);
    });

    it('serves the stale copy while Superfone fails, then the error once the stale window is over', async () => {
      const first = fetchedAt(await list());
      const firstAt = Date.parse(first);
      await until(firstAt + 1000);
      h.standIn.setBehaviour({ kind: 'status', status: 503 });

      const duringRefresh = await list();
      await h.standIn.waitForCalls(2);
      const afterFailure = await eventually(async () => {
        const answer = await list();
        const status = answer.response.headers.get('cache-status');
        return status?.endsWith('detail=stale-if-error') ? answer : undefined;
      }, 'a stale-if-error answer');

      expect(duringRefresh.response.status).toBe(200);
      expect(afterFailure.response.status).toBe(200);
      expect(fetchedAt(afterFailure)).toBe(first);

      await until(firstAt + 3000);
      const expired = await list();
      expect(expired.response.status).toBe(502);
      expect(expired.error?.code).toBe('UPSTREAM_ERROR');
    });
  });
});
