import { expect } from '@jest/globals';
import { demoApps, SuperfoneStandIn } from '../tools/superfone-stand-in/superfone-stand-in';
import { parseLogLines, readProblem } from './support/bodies';
import { KEYS } from './support/client-keys.fixture';
import {
  APP_1,
  APP_2,
  availableOn,
  deleteLink,
  linkedOn,
  NUMBER,
  NUMBER_IN_PATH,
  postLink,
  readAppNumbers,
  readApps,
  readLink,
} from './support/number-links';
import { bearer, Harness, SERVER_KEY, startHarness, startSharedStandIn } from './support/test-app';

/**
 * The apps routes on one replica with Redis, against the stateful stand-in: what a company app
 * sees when it links and unlinks numbers, and what Superfone sees.
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
      const first = await h.get('/apps', bearer(KEYS.linker));
      expect(first.status).toBe(200);
      expect(first.headers.get('cache-status')).toBe('superfone-bff; fwd=miss; stored');
      const etag = first.headers.get('etag') ?? '';
      const body = await readApps(first);
      expect(body.data.map((app) => app.appId)).toEqual(
        demoApps()
          .sort((a, b) => b.created_at.localeCompare(a.created_at))
          .map((app) => app.app_id),
      );
      expect(body.meta.count).toBe(2);

      const second = await h.get('/apps', bearer(KEYS.linker));
      expect(second.headers.get('cache-status')).toMatch(/^superfone-bff; hit; ttl=\d+$/);
      expect(second.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
      await second.text();
      const conditional = await h.get('/apps', { ...bearer(KEYS.linker), 'if-none-match': etag });
      expect(conditional.status).toBe(304);
      expect(h.standIn.callsTo('list-apps')).toBe(1);
    });

    it('GET /apps/{appId}/numbers answers the links, cached per app', async () => {
      h.standIn.link(APP_1, NUMBER);
      const first = await h.get(`/apps/${APP_1}/numbers`, bearer(KEYS.linker));
      expect(first.status).toBe(200);
      const body = await readAppNumbers(first);
      expect(body.data).toEqual([
        { appId: APP_1, voipNumber: NUMBER, status: 'ACTIVE', linkedAt: expect.any(String) },
      ]);
      const again = await h.get(`/apps/${APP_1}/numbers`, bearer(KEYS.linker));
      expect(again.headers.get('cache-status')).toMatch(/hit/);
      await again.text();
      const other = await readAppNumbers(
        await h.get(`/apps/${APP_2}/numbers`, bearer(KEYS.linker)),
      );
      expect(other.data).toEqual([]);
      expect(h.standIn.callsTo('list-app-numbers')).toBe(2);
    });

    it('an unknown app is a 404 APP_NOT_FOUND, and is not cached', async () => {
      for (let i = 0; i < 2; i++) {
        const res = await h.get('/apps/sfv_app_nobody/numbers', bearer(KEYS.linker));
        expect(res.status).toBe(404);
        expect((await readProblem(res)).code).toBe('APP_NOT_FOUND');
      }
      expect(h.standIn.callsTo('list-app-numbers')).toBe(2);
    });

    it.each([
      ['/apps?x=1', 'no query parameters'],
      ['/apps/bad.id/numbers', 'appId'],
      [`/apps/${'a'.repeat(65)}/numbers`, 'appId'],
    ])('GET %s is a 400 INVALID_REQUEST', async (path, detail) => {
      const res = await h.get(path, bearer(KEYS.linker));
      expect(res.status).toBe(400);
      const problem = await readProblem(res);
      expect(problem.code).toBe('INVALID_REQUEST');
      expect(problem.detail).toContain(detail);
    });

    it('a numbers:read key gets 403 on the apps routes', async () => {
      const res = await h.get('/apps', bearer(KEYS.reader));
      expect(res.status).toBe(403);
      expect((await readProblem(res)).code).toBe('FORBIDDEN');
    });
  });

  describe('link and unlink', () => {
    it('a link is 201 with Location and the link; both lists follow before the answer leaves, for one available-numbers call', async () => {
      expect(await availableOn(h, KEYS.linker)).toContain(NUMBER);
      expect(await linkedOn(h, KEYS.linker, APP_1)).toEqual([]);
      const availableCalls = h.standIn.callsTo('available-numbers');

      const res = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER });

      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`/apps/${APP_1}/numbers/${NUMBER_IN_PATH}`);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect((await readLink(res)).data).toEqual({
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
      ['%2B-encoded', NUMBER_IN_PATH],
      ['a literal +', NUMBER],
    ])('an unlink with the number %s is 204; the number is available again', async (_, inPath) => {
      h.standIn.link(APP_1, NUMBER);
      expect(await availableOn(h, KEYS.linker)).not.toContain(NUMBER);
      expect(await linkedOn(h, KEYS.linker, APP_1)).toEqual([NUMBER]);

      const res = await deleteLink(h, KEYS.linker, APP_1, inPath);

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
      expect(res.status).toBe(200);
      expect(res.headers.get('location')).toBeNull();
      expect((await readLink(res)).data.voipNumber).toBe(NUMBER);
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
          : await deleteLink(h, KEYS.linker, appId, encodeURIComponent(number));
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
      const problem = await readProblem(res);
      expect(problem.code).toBe(code);
      expect(JSON.stringify(problem)).not.toContain(SERVER_KEY);
      expect(h.standIn.appOf(NUMBER)).toBe(APP_1);
    });

    it.each([
      ['a number that is not E.164', { voipNumber: '918000000001' }, 400],
      ['too few digits', { voipNumber: '+9180000' }, 400],
      ['an unknown field', { voipNumber: NUMBER, note: 'x' }, 400],
      ['an array', [NUMBER], 400],
      ['malformed JSON', '{"voipNumber":', 400],
      ['a body over 1 KiB', { voipNumber: NUMBER, pad: 'x'.repeat(1100) }, 413],
    ])('a link with %s is refused before Superfone is called', async (_, body, status) => {
      const res = await postLink(h, KEYS.linker, APP_1, body);
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
      const res = await fetch(`${h.url}${path}`, { method, headers: bearer(KEYS.linker) });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      expect((await readProblem(res)).code).toBe('METHOD_NOT_ALLOWED');
    });

    it('an unlink with a path number that is not E.164 is a 400', async () => {
      const res = await deleteLink(h, KEYS.linker, APP_1, '8000000001');
      expect(res.status).toBe(400);
      expect((await readProblem(res)).code).toBe('INVALID_REQUEST');
      expect(h.standIn.callsTo('unlink')).toBe(0);
    });

    it('a numbers:read key gets 403 on POST and DELETE; Superfone is not called', async () => {
      const post = await postLink(h, KEYS.reader, APP_1, { voipNumber: NUMBER });
      const del = await deleteLink(h, KEYS.reader, APP_1, NUMBER_IN_PATH);
      expect([post.status, del.status]).toEqual([403, 403]);
      expect((await readProblem(post)).code).toBe('FORBIDDEN');
      await del.text();
      expect(h.standIn.callsTo('link') + h.standIn.callsTo('unlink')).toBe(0);
    });
  });

  describe('a lost answer is reconciled, never retried', () => {
    it('Superfone applies the link and hangs: 201 after reading the app, one link request', async () => {
      h.standIn.enqueueFor('link', { kind: 'hang-after-apply' });
      const res = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER });
      expect(res.status).toBe(201);
      expect((await readLink(res)).data.voipNumber).toBe(NUMBER);
      expect(h.standIn.callsTo('link')).toBe(1);
      expect(h.standIn.linksOf(APP_1).map((l) => l.voip_number)).toEqual([NUMBER]);
      expect(await availableOn(h, KEYS.linker)).not.toContain(NUMBER);
    });

    it('Superfone hangs without applying: 504 UPSTREAM_TIMEOUT, nothing linked, one link request', async () => {
      h.standIn.enqueueFor('link', { kind: 'hang' });
      const res = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER });
      expect(res.status).toBe(504);
      expect((await readProblem(res)).code).toBe('UPSTREAM_TIMEOUT');
      expect(h.standIn.callsTo('link')).toBe(1);
      expect(h.standIn.appOf(NUMBER)).toBeUndefined();
    });

    it('Superfone links and answers 200 with an unreadable body: 201 once the app shows the link', async () => {
      h.standIn.enqueueFor('link', { kind: 'non-json' });
      const res = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER });
      expect(res.status).toBe(201);
      expect((await readLink(res)).data.voipNumber).toBe(NUMBER);
      expect(h.standIn.callsTo('link')).toBe(1);
      expect(await availableOn(h, KEYS.linker)).not.toContain(NUMBER);
    });

    it('the connection resets after the unlink was applied: 204 once the app shows it gone', async () => {
      h.standIn.link(APP_1, NUMBER);
      h.standIn.enqueueFor('unlink', { kind: 'reset-after-apply' });
      const res = await deleteLink(h, KEYS.linker, APP_1, NUMBER_IN_PATH);
      expect(res.status).toBe(204);
      expect(h.standIn.callsTo('unlink')).toBe(1);
      expect(h.standIn.appOf(NUMBER)).toBeUndefined();
    });

    it('a gateway 504 before the unlink was applied: 504, the number still linked', async () => {
      h.standIn.link(APP_1, NUMBER);
      h.standIn.enqueueFor('unlink', { kind: 'status', status: 504 });
      const res = await deleteLink(h, KEYS.linker, APP_1, NUMBER_IN_PATH);
      expect(res.status).toBe(504);
      expect((await readProblem(res)).code).toBe('UPSTREAM_TIMEOUT');
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
        {
          'x-request-id': 'audit-link-1',
        },
      );
      expect(linked.status).toBe(201);
      const refused = await postLink(h, KEYS.linker, APP_2, { voipNumber: NUMBER });
      expect(refused.status).toBe(409);
      const unlinked = await deleteLink(h, KEYS.linker, APP_1, NUMBER_IN_PATH);
      expect(unlinked.status).toBe(204);

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
      const key = { 'idempotency-key': '"link-once-1"' };
      const first = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER }, key);
      expect(first.status).toBe(201);
      const firstBody = await first.text();

      const again = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER }, key);
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.headers.get('location')).toBe(`/apps/${APP_1}/numbers/${NUMBER_IN_PATH}`);
      expect(await again.text()).toBe(firstBody);
      expect(h.standIn.callsTo('link')).toBe(1);

      const other = await postLink(h, KEYS.linker, APP_1, { voipNumber: '+918000000002' }, key);
      expect(other.status).toBe(422);
      expect((await readProblem(other)).code).toBe('IDEMPOTENCY_KEY_MISMATCH');
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
    expect(linked.status).toBe(201);
    await linked.text();
    expect(await availableOn(h, KEYS.linker)).not.toContain(NUMBER);
    expect(await linkedOn(h, KEYS.linker, APP_1)).toEqual([NUMBER]);

    const unlinked = await deleteLink(h, KEYS.linker, APP_1, NUMBER_IN_PATH);
    expect(unlinked.status).toBe(204);
    expect(await availableOn(h, KEYS.linker)).toContain(NUMBER);
    expect(await linkedOn(h, KEYS.linker, APP_1)).toEqual([]);
  });

  it('replays an idempotent link in-process', async () => {
    const key = { 'idempotency-key': '"no-redis-1"' };
    expect((await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER }, key)).status).toBe(201);
    const again = await postLink(h, KEYS.linker, APP_1, { voipNumber: NUMBER }, key);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
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
    ['/apps', 'list-apps'],
    [`/apps/${APP_1}/numbers`, 'list-app-numbers'],
  ] as const)(
    'a concurrent cold burst on %s spread over three replicas makes one upstream call',
    async (path, route) => {
      standIn.setBehaviourFor(route, { kind: 'ok', delayMs: 100 });
      const responses = await Promise.all(
        Array.from({ length: 90 }, (_, i) => replicas[i % 3].get(path, bearer(KEYS.linker))),
      );
      expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
      const etags = new Set(responses.map((r) => r.headers.get('etag')));
      await Promise.all(responses.map((r) => r.text()));
      expect(etags.size).toBe(1);
      expect(standIn.callsTo(route)).toBe(1);
    },
  );
});
