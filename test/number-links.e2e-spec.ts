import { expect } from '@jest/globals';
import { demoApps, SuperfoneStandIn } from '../tools/superfone-stand-in/superfone-stand-in';
import type { SuperfoneBffClient } from '../clients/typescript/src';
import { parseLogLines, readProblem } from './support/bodies';
import { KEYS } from './support/client-keys.fixture';
import { defined } from './support/defined';
import {
  APP_1,
  APP_2,
  availableOn,
  deleteLink,
  deleteRawLink,
  linkedOn,
  NUMBER,
  NUMBER_IN_PATH,
  postLink,
  postRawLink,
} from './support/number-links';
import { bearer, Harness, SERVER_KEY, startHarness, startSharedStandIn } from './support/test-app';

/**
 * The apps routes on one replica with Redis, against the stateful stand-in: what a company app
 * sees when it links and unlinks numbers, and what Superfone sees. Requests go through the
 * generated client (h.client, postLink, deleteLink); raw fetch only for what the spec does not
 * allow and the client cannot send.
 */
describe('apps and number links (one replica)', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const auditLines = () =>
    parseLogLines(h.logs).filter((line) => (line as { context?: string }).context === 'audit');

  describe('reads', () => {
    it('GET /apps answers the apps, cached: a second read is a hit, an ETag gets a 304', async () => {
      const bff = h.client(KEYS.linker);
      const first = await bff.GET('/apps');
      expect(first.response.status).toBe(200);
      expect(first.response.headers.get('cache-status')).toBe('superfone-bff; fwd=miss; stored');
      const etag = first.response.headers.get('etag') ?? '';
      const body = defined(first.data, 'the apps');
      expect(body.data.map((app) => app.appId)).toEqual(
        demoApps()
          .sort((a, b) => b.created_at.localeCompare(a.created_at))
          .map((app) => app.app_id),
      );
      expect(body.meta.count).toBe(2);

      const second = await bff.GET('/apps');
      expect(second.response.headers.get('cache-status')).toMatch(/^superfone-bff; hit; ttl=\d+$/);
      expect(second.response.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
      const conditional = await bff.GET('/apps', { params: { header: { 'If-None-Match': etag } } });
      expect(conditional.response.status).toBe(304);
      expect(h.standIn.callsTo('list-apps')).toBe(1);
    });

    it('GET /apps/{appId}/numbers answers the links, cached per app', async () => {
      h.standIn.link(APP_1, NUMBER);
      const bff = h.client(KEYS.linker);
      const numbersOf = (appId: string) =>
        bff.GET('/apps/{appId}/numbers', { params: { path: { appId } } });
      const first = await numbersOf(APP_1);
      expect(first.response.status).toBe(200);
      expect(first.data?.data).toEqual([
        { appId: APP_1, voipNumber: NUMBER, status: 'ACTIVE', linkedAt: expect.any(String) },
      ]);
      const again = await numbersOf(APP_1);
      expect(again.response.headers.get('cache-status')).toMatch(/hit/);
      const other = await numbersOf(APP_2);
      expect(other.data?.data).toEqual([]);
      expect(h.standIn.callsTo('list-app-numbers')).toBe(2);
    });

    it('an unknown app is a 404 APP_NOT_FOUND, and is not cached', async () => {
      for (let i = 0; i < 2; i++) {
        const res = await h.client(KEYS.linker).GET('/apps/{appId}/numbers', {
          params: { path: { appId: 'sfv_app_nobody' } },
        });
        expect(res.response.status).toBe(404);
        expect(res.error?.code).toBe('APP_NOT_FOUND');
      }
      expect(h.standIn.callsTo('list-app-numbers')).toBe(2);
    });

    it.each([
      ['/apps/bad.id/numbers', 'bad.id'],
      [`/apps/${'a'.repeat(65)}/numbers`, 'a'.repeat(65)],
    ])('GET %s is a 400 INVALID_REQUEST', async (_, appId) => {
      const res = await h.client(KEYS.linker).GET('/apps/{appId}/numbers', {
        params: { path: { appId } },
      });
      expect(res.response.status).toBe(400);
      expect(res.error?.code).toBe('INVALID_REQUEST');
      expect(res.error?.detail).toContain('appId');
    });

    // A query parameter /apps does not have: the client cannot send it, so raw fetch.
    it('GET /apps?x=1 is a 400 INVALID_REQUEST', async () => {
      const res = await h.get('/apps?x=1', bearer(KEYS.linker));
      expect(res.status).toBe(400);
      const problem = await readProblem(res);
      expect(problem.code).toBe('INVALID_REQUEST');
      expect(problem.detail).toContain('no query parameters');
    });

    it('a numbers:read key gets 403 on the apps routes', async () => {
      const res = await h.client(KEYS.reader).GET('/apps');
      expect(res.response.status).toBe(403);
      expect(res.error?.code).toBe('FORBIDDEN');
    });
  });

  describe('link and unlink', () => {
    it('a link is 201 with Location and the link; both lists follow before the answer leaves, for one available-numbers call', async () => {
      expect(await availableOn(h, KEYS.linker)).toContain(NUMBER);
      expect(await linkedOn(h, KEYS.linker, APP_1)).toEqual([]);
      const availableCalls = h.standIn.callsTo('available-numbers');

      const res = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER });

      expect(res.response.status).toBe(201);
      expect(res.response.headers.get('location')).toBe(`/apps/${APP_1}/numbers/${NUMBER_IN_PATH}`);
      expect(res.response.headers.get('cache-control')).toBe('no-store');
      expect(res.data?.data).toEqual({
        appId: APP_1,
        voipNumber: NUMBER,
        status: 'ACTIVE',
        linkedAt: expect.any(String),
      });
      expect(h.standIn.appOf(NUMBER)).toBe(APP_1);
      expect(await availableOn(h, KEYS.linker)).not.toContain(NUMBER);
      expect(await linkedOn(h, KEYS.linker, APP_1)).toEqual([NUMBER]);
      expect(h.standIn.callsTo('available-numbers')).toBe(availableCalls + 1);
    });

    it.each([
      [
        '%2B-encoded',
        async (on: Harness) => (await deleteLink(on, KEYS.linker, APP_1, NUMBER)).response,
      ],
      // The client always sends the + as %2B; the literal + the spec also accepts goes raw.
      ['a literal +', (on: Harness) => deleteRawLink(on, KEYS.linker, APP_1, NUMBER)],
    ])('an unlink with the number %s is 204; the number is available again', async (_, unlink) => {
      h.standIn.link(APP_1, NUMBER);
      expect(await availableOn(h, KEYS.linker)).not.toContain(NUMBER);
      expect(await linkedOn(h, KEYS.linker, APP_1)).toEqual([NUMBER]);

      const res = await unlink(h);

      expect(res.status).toBe(204);
      expect(await res.text()).toBe('');
      expect(h.standIn.appOf(NUMBER)).toBeUndefined();
      const sent = h.standIn.requests.filter((r) => r.method === 'DELETE');
      expect(sent.map((r) => r.path)).toEqual([
        `/superfone/sfvopi/apps/${APP_1}/numbers/${NUMBER_IN_PATH}`,
      ]);
      expect(await availableOn(h, KEYS.linker)).toContain(NUMBER);
      expect(await linkedOn(h, KEYS.linker, APP_1)).toEqual([]);
    });

    it('a link of a number already linked to the same app is a 200 with the link, no Location', async () => {
      h.standIn.link(APP_1, NUMBER);
      const res = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER });
      expect(res.response.status).toBe(200);
      expect(res.response.headers.get('location')).toBeNull();
      expect(res.data?.data.voipNumber).toBe(NUMBER);
    });

    it.each([
      ['POST to an unknown app', 'POST', 'sfv_app_nobody', NUMBER, 404, 'APP_NOT_FOUND'],
      [
        'POST of a number the org does not own',
        'POST',
        APP_1,
        '+919999999999',
        422,
        'NUMBER_NOT_FOUND',
      ],
      [
        'POST of a number linked to another app',
        'POST',
        APP_2,
        NUMBER,
        409,
        'NUMBER_ALREADY_LINKED',
      ],
      [
        'DELETE of a number not linked to the app',
        'DELETE',
        APP_2,
        '+918000000002',
        404,
        'NUMBER_NOT_LINKED',
      ],
      ['DELETE from an unknown app', 'DELETE', 'sfv_app_nobody', NUMBER, 404, 'APP_NOT_FOUND'],
    ])('%s is answered as its SPEC problem', async (_, method, appId, number, status, code) => {
      h.standIn.link(APP_1, NUMBER);
      const res =
        method === 'POST'
          ? await postLink(h, KEYS.linker, appId, { voipNumber: number })
          : await deleteLink(h, KEYS.linker, appId, number);
      expect(res.response.status).toBe(status);
      expect(res.response.headers.get('content-type')).toBe(
        'application/problem+json; charset=utf-8',
      );
      const problem = defined(res.error, 'the problem');
      expect(problem.code).toBe(code);
      expect(JSON.stringify(problem)).not.toContain(SERVER_KEY);
      expect(h.standIn.appOf(NUMBER)).toBe(APP_1);
    });

    it.each([
      ['a number that is not E.164', '918000000001'],
      ['too few digits', '+9180000'],
    ])('a link with %s is refused before Superfone is called', async (_, voipNumber) => {
      const res = await postLink(h, KEYS.linker, APP_1, { voipNumber });
      expect(res.response.status).toBe(400);
      expect(res.error?.code).toBe('INVALID_REQUEST');
      expect(h.standIn.callsTo('link')).toBe(0);
    });

    // Bodies the spec does not allow (an unknown field, not an object, not JSON): sent raw.
    it.each([
      ['an unknown field', { voipNumber: NUMBER, note: 'x' }, 400],
      ['an array', [NUMBER], 400],
      ['malformed JSON', '{"voipNumber":', 400],
      ['a body over 1 KiB', { voipNumber: NUMBER, pad: 'x'.repeat(1100) }, 413],
    ])('a link with %s is refused before Superfone is called', async (_, body, status) => {
      const res = await postRawLink(h, KEYS.linker, APP_1, body);
      expect(res.status).toBe(status);
      expect((await readProblem(res)).code).toBe(
        status === 413 ? 'PAYLOAD_TOO_LARGE' : 'INVALID_REQUEST',
      );
      expect(h.standIn.callsTo('link')).toBe(0);
    });

    it.each([
      ['PUT', `/apps/${APP_1}/numbers`, 'GET, HEAD, POST'],
      ['POST', `/apps/${APP_1}/numbers/${NUMBER_IN_PATH}`, 'DELETE'],
      ['PATCH', '/apps', 'GET, HEAD'],
    ])('%s %s is a 405 naming %s', async (method, path, allow) => {
      // Methods the spec does not have on these paths: the client has no call for them, so raw.
      const res = await fetch(`${h.url}${path}`, { method, headers: bearer(KEYS.linker) });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      expect((await readProblem(res)).code).toBe('METHOD_NOT_ALLOWED');
    });

    it('an unlink with a path number that is not E.164 is a 400', async () => {
      const res = await deleteLink(h, KEYS.linker, APP_1, '8000000001');
      expect(res.response.status).toBe(400);
      expect(res.error?.code).toBe('INVALID_REQUEST');
      expect(h.standIn.callsTo('unlink')).toBe(0);
    });

    it('a numbers:read key gets 403 on POST and DELETE; Superfone is not called', async () => {
      const post = await postLink(h, KEYS.reader, APP_1, { voipNumber: NUMBER });
      const del = await deleteLink(h, KEYS.reader, APP_1, NUMBER);
      expect([post.response.status, del.response.status]).toEqual([403, 403]);
      expect(post.error?.code).toBe('FORBIDDEN');
      expect(h.standIn.callsTo('link') + h.standIn.callsTo('unlink')).toBe(0);
    });
  });

  describe('a lost answer is reconciled, never retried', () => {
    it('Superfone applies the link and hangs: 201 after reading the app, one link request', async () => {
      h.standIn.enqueueFor('link', { kind: 'hang-after-apply' });
      const res = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER });
      expect(res.response.status).toBe(201);
      expect(res.data?.data.voipNumber).toBe(NUMBER);
      expect(h.standIn.callsTo('link')).toBe(1);
      expect(h.standIn.linksOf(APP_1).map((l) => l.voip_number)).toEqual([NUMBER]);
      expect(await availableOn(h, KEYS.linker)).not.toContain(NUMBER);
    });

    it('Superfone hangs without applying: 504 UPSTREAM_TIMEOUT, nothing linked, one link request', async () => {
      h.standIn.enqueueFor('link', { kind: 'hang' });
      const res = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER });
      expect(res.response.status).toBe(504);
      expect(res.error?.code).toBe('UPSTREAM_TIMEOUT');
      expect(h.standIn.callsTo('link')).toBe(1);
      expect(h.standIn.appOf(NUMBER)).toBeUndefined();
    });

    it('Superfone links and answers 200 with an unreadable body: 201 once the app shows the link', async () => {
      h.standIn.enqueueFor('link', { kind: 'non-json' });
      const res = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER });
      expect(res.response.status).toBe(201);
      expect(res.data?.data.voipNumber).toBe(NUMBER);
      expect(h.standIn.callsTo('link')).toBe(1);
      expect(await availableOn(h, KEYS.linker)).not.toContain(NUMBER);
    });

    it('the connection resets after the unlink was applied: 204 once the app shows it gone', async () => {
      h.standIn.link(APP_1, NUMBER);
      h.standIn.enqueueFor('unlink', { kind: 'reset-after-apply' });
      const res = await deleteLink(h, KEYS.linker, APP_1, NUMBER);
      expect(res.response.status).toBe(204);
      expect(h.standIn.callsTo('unlink')).toBe(1);
      expect(h.standIn.appOf(NUMBER)).toBeUndefined();
    });

    it('a gateway 504 before the unlink was applied: 504, the number still linked', async () => {
      h.standIn.link(APP_1, NUMBER);
      h.standIn.enqueueFor('unlink', { kind: 'status', status: 504 });
      const res = await deleteLink(h, KEYS.linker, APP_1, NUMBER);
      expect(res.response.status).toBe(504);
      expect(res.error?.code).toBe('UPSTREAM_TIMEOUT');
      expect(h.standIn.callsTo('unlink')).toBe(1);
      expect(h.standIn.appOf(NUMBER)).toBe(APP_1);
    });
  });

  describe('audit', () => {
    it('writes one audit line per mutation and counts it by operation and outcome', async () => {
      const linked = await postLink(
        h,
        KEYS.linker,
        APP_1,
        { voipNumber: NUMBER },
        { 'X-Request-Id': 'audit-link-1' },
      );
      expect(linked.response.status).toBe(201);
      const refused = await postLink(h, KEYS.linker, APP_2, { voipNumber: NUMBER });
      expect(refused.response.status).toBe(409);
      const unlinked = await deleteLink(h, KEYS.linker, APP_1, NUMBER);
      expect(unlinked.response.status).toBe(204);

      expect(auditLines()).toEqual([
        expect.objectContaining({
          event: 'number.link',
          clientId: 'linker-app',
          appId: APP_1,
          voipNumber: NUMBER,
          outcome: 'linked',
          requestId: 'audit-link-1',
        }),
        expect.objectContaining({
          event: 'number.link',
          appId: APP_2,
          outcome: 'number_already_linked',
        }),
        expect.objectContaining({ event: 'number.unlink', appId: APP_1, outcome: 'unlinked' }),
      ]);
      // The Prometheus scrape is outside the API document: raw fetch.
      const metrics = await (await h.get('/metrics')).text();
      expect(metrics).toContain(
        'superfone_bff_number_mutations_total{operation="link",outcome="linked"} 1',
      );
      expect(metrics).toContain(
        'superfone_bff_number_mutations_total{operation="link",outcome="number_already_linked"} 1',
      );
      expect(metrics).toContain(
        'superfone_bff_number_mutations_total{operation="unlink",outcome="unlinked"} 1',
      );
      expect(h.logs.join('\n')).not.toContain(SERVER_KEY);
      expect(h.logs.join('\n')).not.toContain(KEYS.linker);
    });
  });

  describe('idempotency', () => {
    it('a repeat with the same key replays the 201 without calling Superfone; another body is a 422', async () => {
      const key = { 'Idempotency-Key': '"link-once-1"' };
      const first = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER }, key);
      expect(first.response.status).toBe(201);

      const again = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER }, key);
      expect(again.response.status).toBe(201);
      expect(again.response.headers.get('idempotent-replayed')).toBe('true');
      expect(again.response.headers.get('location')).toBe(
        `/apps/${APP_1}/numbers/${NUMBER_IN_PATH}`,
      );
      expect(again.data).toStrictEqual(defined(first.data, 'the first answer'));
      expect(h.standIn.callsTo('link')).toBe(1);

      const other = await postLink(h, KEYS.linker, APP_1, { voipNumber: '+918000000002' }, key);
      expect(other.response.status).toBe(422);
      expect(other.error?.code).toBe('IDEMPOTENCY_KEY_MISMATCH');
      expect(h.standIn.callsTo('link')).toBe(1);
    });
  });
});

describe('apps and number links without Redis', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness({ withoutRedis: true });
  });
  afterEach(async () => {
    await h.close();
  });

  it('links and unlinks, and the in-process caches follow', async () => {
    expect(await availableOn(h, KEYS.linker)).toContain(NUMBER);
    expect(await linkedOn(h, KEYS.linker, APP_1)).toEqual([]);

    const linked = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER });
    expect(linked.response.status).toBe(201);
    expect(await availableOn(h, KEYS.linker)).not.toContain(NUMBER);
    expect(await linkedOn(h, KEYS.linker, APP_1)).toEqual([NUMBER]);

    const unlinked = await deleteLink(h, KEYS.linker, APP_1, NUMBER);
    expect(unlinked.response.status).toBe(204);
    expect(await availableOn(h, KEYS.linker)).toContain(NUMBER);
    expect(await linkedOn(h, KEYS.linker, APP_1)).toEqual([]);
  });

  it('replays an idempotent link in-process', async () => {
    const key = { 'Idempotency-Key': '"no-redis-1"' };
    const first = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER }, key);
    expect(first.response.status).toBe(201);
    const again = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER }, key);
    expect(again.response.status).toBe(201);
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    expect(h.standIn.callsTo('link')).toBe(1);
  });
});

describe('apps reads across replicas sharing a Redis', () => {
  let standIn: SuperfoneStandIn;
  let replicas: Harness[] = [];

  beforeEach(async () => {
    standIn = await startSharedStandIn();
    const first = await startHarness({ standIn });
    replicas = [
      first,
      ...(await Promise.all(
        [1, 2].map(() => startHarness({ standIn, keyPrefix: first.keyPrefix })),
      )),
    ];
  });
  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await standIn.stop();
  });

  it.each([
    ['/apps', 'list-apps', (bff: SuperfoneBffClient) => bff.GET('/apps')],
    [
      `/apps/${APP_1}/numbers`,
      'list-app-numbers',
      (bff: SuperfoneBffClient) =>
        bff.GET('/apps/{appId}/numbers', { params: { path: { appId: APP_1 } } }),
    ],
  ] as const)(
    'a concurrent cold burst on %s spread over three replicas makes one upstream call',
    async (_path, route, read) => {
      standIn.setBehaviourFor(route, { kind: 'ok', delayMs: 100 });
      const clients = replicas.map((r) => r.client(KEYS.linker));
      const responses = await Promise.all(
        Array.from({ length: 90 }, async (_, i) => (await read(clients[i % 3])).response),
      );
      expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
      const etags = new Set(responses.map((r) => r.headers.get('etag')));
      expect(etags.size).toBe(1);
      expect(standIn.callsTo(route)).toBe(1);
    },
  );
});
