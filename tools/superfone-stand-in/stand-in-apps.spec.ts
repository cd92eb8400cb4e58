import { request } from 'node:http';
import { eventually } from '../../test/support/timing';
import {
  demoApps,
  SuperfoneStandIn,
  type StandInBehaviour,
  type StandInNumber,
  type StandInOptions,
  type StandInRoute,
} from './superfone-stand-in';

const KEY = 'sf-test-key';
const APP_1 = 'sfv_app_demo00000001';
const APP_2 = 'sfv_app_demo00000002';
const NUMBERS: StandInNumber[] = [
  { id: 1, voip_number: '+918000000001', provider: 'exotel', status: 'ACTIVE' },
  { id: 2, voip_number: '+918000000002', provider: 'plivo', status: 'INACTIVE' },
];
const NOW = '2026-02-02T10:30:00.000Z';
const linkOf = (appId: string, voipNumber: string) => ({
  app_id: appId,
  voip_number: voipNumber,
  org_id: 1001,
  status: 'ACTIVE',
  created_at: NOW,
  updated_at: null,
});

interface Answer {
  status: number;
  body: unknown;
}

describe(`${SuperfoneStandIn.name}: apps and links`, () => {
  let sut: SuperfoneStandIn;
  let baseUrl: string;

  const start = async (options: Partial<StandInOptions> = {}): Promise<void> => {
    sut = new SuperfoneStandIn({
      apiKey: KEY,
      numbers: NUMBERS,
      now: () => new Date(NOW),
      ...options,
    });
    baseUrl = await sut.start();
  };
  const call = async (
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> => {
    const res = await fetch(`${baseUrl}/sfvopi/${path}`, {
      method,
      body: init.body,
      headers: init.headers ?? {
        'x-api-key': KEY,
        ...(init.body !== undefined && { 'content-type': 'application/json' }),
      },
    });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    return { status: res.status, body: await res.json() };
  };
  const listApps = () => call('GET', 'apps');
  const appNumbers = (appId: string) => call('GET', `apps/${appId}/numbers`);
  const available = () => call('GET', 'available-numbers');
  const link = (appId: string, voipNumber: unknown) =>
    call('POST', `apps/${appId}/numbers`, { body: JSON.stringify({ voip_number: voipNumber }) });
  const unlink = (appId: string, encodedNumber: string) =>
    call('DELETE', `apps/${appId}/numbers/${encodedNumber}`);
  const availableNumbers = async (): Promise<string[]> =>
    ((await available()).body as { data: StandInNumber[] }).data.map((n) => n.voip_number);

  afterEach(async () => {
    await sut.stop();
  });

  describe('routes', () => {
    beforeEach(() => start());

    it('GET apps lists the demo apps newest first in the documented app shape', async () => {
      const [older, newer] = demoApps();

      expect(await listApps()).toEqual({
        status: 200,
        body: { data: [newer, older], message: 'success' },
      });
      expect(newer).toEqual({
        app_id: APP_2,
        org_id: 1001,
        name: 'Sales line',
        answer_url: `https://example.com/sfvopi/${APP_2}/answer`,
        answer_method: 'POST',
        hangup_url: null,
        hangup_method: 'POST',
        fallback_answer_url: null,
        fallback_answer_method: 'POST',
        status: 'ACTIVE',
        created_by: 1,
        created_at: '2026-01-12T09:30:00.000Z',
        updated_at: null,
      });
    });

    it('GET app numbers is [] for an app with none', async () => {
      expect(await appNumbers(APP_1)).toEqual({
        status: 200,
        body: { data: [], message: 'success' },
      });
    });

    it('POST links: 200 with the link, the number leaves available-numbers and joins the app', async () => {
      const answer = await link(APP_1, '+918000000001');

      expect(answer).toEqual({
        status: 200,
        body: { data: linkOf(APP_1, '+918000000001'), message: 'success' },
      });
      expect(await availableNumbers()).toEqual(['+918000000002']);
      expect((await appNumbers(APP_1)).body).toEqual({
        data: [linkOf(APP_1, '+918000000001')],
        message: 'success',
      });
      expect(sut.appOf('+918000000001')).toBe(APP_1);
      expect(sut.requests.find((r) => r.route === 'link')?.body).toBe(
        '{"voip_number":"+918000000001"}',
      );
    });

    it('POST normalizes a 10-digit Indian number to E.164, as Superfone does', async () => {
      const answer = await link(APP_2, '80000 00002');

      expect(answer.status).toBe(200);
      expect(sut.linksOf(APP_2)).toEqual([linkOf(APP_2, '+918000000002')]);
    });

    it.each([
      ['%2B (encoded)', '%2B918000000001'],
      ['a raw +', '+918000000001'],
    ])(
      'DELETE with %s unlinks: the number is back in available-numbers as it was',
      async (_, encoded) => {
        await link(APP_1, '+918000000001');

        const answer = await unlink(APP_1, encoded);

        expect(answer).toEqual({
          status: 200,
          body: { data: { deleted: true }, message: 'success' },
        });
        expect((await available()).body).toEqual({
          data: [NUMBERS[1], NUMBERS[0]],
          message: 'success',
        });
        expect((await appNumbers(APP_1)).body).toEqual({ data: [], message: 'success' });
        expect(sut.appOf('+918000000001')).toBeUndefined();
      },
    );

    it.each([
      ['GET', 'available-numbers', 'available-numbers'],
      ['GET', 'apps', 'list-apps'],
      ['GET', `apps/${APP_1}/numbers`, 'list-app-numbers'],
      ['POST', `apps/${APP_1}/numbers`, 'link'],
      ['DELETE', `apps/${APP_1}/numbers/%2B918000000001`, 'unlink'],
    ] as const)('%s %s checks the key and counts every call', async (method, path, route) => {
      expect(await call(method, path, { headers: {} })).toEqual({
        status: 401,
        body: { message: 'UnAuthorized, Please Provide API Key' },
      });
      expect(await call(method, path, { headers: { 'x-api-key': 'wrong' } })).toEqual({
        status: 401,
        body: { message: 'UnAuthorized, Please Provide Valid API Key' },
      });
      expect(sut.callsTo(route)).toBe(2);
      expect(sut.requests.map((r) => r.route)).toEqual([route, route]);
    });
  });

  describe('documented errors', () => {
    beforeEach(() => start());

    const message = (text: string) => ({ message: text });

    it.each([
      ['a non-JSON body', '{'],
      ['no voip_number', '{}'],
      ['a numeric voip_number', '{"voip_number":918000000001}'],
      ['not a phone number', '{"voip_number":"call me"}'],
    ])('POST answers 400 Invalid request body to %s', async (_, body) => {
      const answer = await call('POST', `apps/${APP_1}/numbers`, { body });

      expect(answer).toEqual({ status: 400, body: message('Invalid request body') });
      expect(await availableNumbers()).toHaveLength(2);
    });

    it('POST reads a body that is not declared as JSON as missing: 400 Invalid request body', async () => {
      const answer = await call('POST', `apps/${APP_1}/numbers`, {
        body: '{"voip_number":"+918000000001"}',
        headers: { 'x-api-key': KEY, 'content-type': 'text/plain' },
      });

      expect(answer).toEqual({ status: 400, body: message('Invalid request body') });
    });

    it('POST to an unknown app is 404 SFVoPI app not found', async () => {
      expect(await link('sfv_app_nope', '+918000000001')).toEqual({
        status: 404,
        body: message('SFVoPI app not found'),
      });
    });

    it('POST of a number the org does not own is 400 VoIP number not found or does not belong to this org', async () => {
      expect(await link(APP_1, '+919999999999')).toEqual({
        status: 400,
        body: message('VoIP number not found or does not belong to this org'),
      });
    });

    it('POST of a number linked to another app is 409 and changes nothing', async () => {
      await link(APP_1, '+918000000001');

      expect(await link(APP_2, '+918000000001')).toEqual({
        status: 409,
        body: message('VoIP number is already linked to another SFVoPI app'),
      });
      expect(sut.appOf('+918000000001')).toBe(APP_1);
    });

    it('POST of a number linked to the same app is 409 too by default', async () => {
      await link(APP_1, '+918000000001');

      expect((await link(APP_1, '+918000000001')).status).toBe(409);
      expect(sut.linksOf(APP_1)).toHaveLength(1);
    });

    it("with sameAppLink 'ok', POST of a number linked to the same app answers 200 with the existing link", async () => {
      let clock = NOW;
      await sut.stop();
      await start({ sameAppLink: 'ok', now: () => new Date(clock) });
      await link(APP_1, '+918000000001');
      clock = '2026-03-01T00:00:00.000Z';

      expect(await link(APP_1, '+918000000001')).toEqual({
        status: 200,
        body: { data: linkOf(APP_1, '+918000000001'), message: 'success' },
      });
      expect((await link(APP_2, '+918000000001')).status).toBe(409);
    });

    it('GET numbers of an unknown app is 404 App not found', async () => {
      expect(await appNumbers('sfv_app_nope')).toEqual({
        status: 404,
        body: message('App not found'),
      });
    });

    it('DELETE on an unknown app is 404 App not found', async () => {
      expect(await unlink('sfv_app_nope', '%2B918000000001')).toEqual({
        status: 404,
        body: message('App not found'),
      });
    });

    it.each([
      ['linked nowhere', '%2B918000000002'],
      ['linked to the other app', '%2B918000000001'],
      ['not a phone number', 'abc'],
    ])('DELETE of a number %s is 404 Number not linked to this app', async (_, encoded) => {
      await link(APP_2, '+918000000001');

      expect(await unlink(APP_1, encoded)).toEqual({
        status: 404,
        body: message('Number not linked to this app'),
      });
      expect(sut.appOf('+918000000001')).toBe(APP_2);
    });

    it('a second DELETE of the same link is 404 Number not linked to this app', async () => {
      await link(APP_1, '+918000000001');
      await unlink(APP_1, '%2B918000000001');

      expect((await unlink(APP_1, '%2B918000000001')).status).toBe(404);
    });
  });

  describe('two links of one number to two apps at once', () => {
    beforeEach(() => start());

    it.each([
      ['answered at once', { kind: 'ok' }],
      ['answered after 100 ms', { kind: 'ok', delayMs: 100 }],
    ] as const)('%s: exactly one 200 and one 409', async (_, behaviour: StandInBehaviour) => {
      sut.setBehaviourFor('link', behaviour);

      const answers = await Promise.all([
        link(APP_1, '+918000000001'),
        link(APP_2, '+918000000001'),
      ]);

      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      const winner = answers[0].status === 200 ? APP_1 : APP_2;
      expect(sut.appOf('+918000000001')).toBe(winner);
      expect([...sut.linksOf(APP_1), ...sut.linksOf(APP_2)]).toHaveLength(1);
      expect(await availableNumbers()).toEqual(['+918000000002']);
    });
  });

  describe('per-route faults', () => {
    beforeEach(() => start());

    /** A node:http request, for the socket errors fetch hides. */
    const raw = (method: string, path: string, body?: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request(
          `${baseUrl}/sfvopi/${path}`,
          { method, headers: { 'x-api-key': KEY, 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => {
              resolve(res.statusCode ?? 0);
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const rawLink = (appId: string, voipNumber: string) =>
      raw('POST', `apps/${appId}/numbers`, JSON.stringify({ voip_number: voipNumber }));
    /** Starts a request that gets no answer; resolves once the stand-in has read all of it. */
    const unanswered = async (send: () => Promise<unknown>): Promise<void> => {
      send().catch(() => undefined); // stop() ends it
      await eventually(
        () => sut.requests.find((r) => r.route === 'link')?.body,
        'the stand-in to read the link body',
      );
    };

    it('a route behaviour leaves the other routes alone; enqueue is per route and in order', async () => {
      sut.setBehaviourFor('list-apps', { kind: 'status', status: 503 });
      sut.enqueueFor('link', { kind: 'status', status: 500 }, { kind: 'status', status: 502 });

      expect((await listApps()).status).toBe(503);
      expect((await available()).status).toBe(200);
      expect((await appNumbers(APP_1)).status).toBe(200);
      expect((await link(APP_1, '+918000000001')).status).toBe(500);
      expect((await link(APP_1, '+918000000001')).status).toBe(502);
      expect((await link(APP_1, '+918000000001')).status).toBe(200);
    });

    it.each([
      ['available-numbers', 'available-numbers', 'Failed to get available numbers: '],
      ['list-apps', 'apps', 'Failed to get SFVoPI apps: '],
      ['list-app-numbers', `apps/${APP_1}/numbers`, 'Failed to get numbers: '],
    ] as const)(
      'status 500 on %s answers its documented message prefix',
      async (route, path, prefix) => {
        sut.setBehaviourFor(route, { kind: 'status', status: 500 });

        const answer = await call('GET', path);

        expect(answer.status).toBe(500);
        expect((answer.body as { message: string }).message.startsWith(prefix)).toBe(true);
      },
    );

    it('status on a link answers it and does not link', async () => {
      sut.setBehaviourFor('link', { kind: 'status', status: 500 });

      const answer = await link(APP_1, '+918000000001');

      expect(answer).toEqual({
        status: 500,
        body: { message: 'Failed to link number: stand-in failure' },
      });
      expect(sut.appOf('+918000000001')).toBeUndefined();
    });

    it('status with apply links first, then answers the status (a gateway timing out)', async () => {
      sut.setBehaviourFor('link', { kind: 'status', status: 504, apply: true });

      expect((await link(APP_1, '+918000000001')).status).toBe(504);
      expect(sut.appOf('+918000000001')).toBe(APP_1);
    });

    it('status on an unlink answers it and keeps the link', async () => {
      sut.link(APP_1, '+918000000001');
      sut.setBehaviourFor('unlink', { kind: 'status', status: 500 });

      expect(await unlink(APP_1, '%2B918000000001')).toEqual({
        status: 500,
        body: { message: 'Failed to unlink number: stand-in failure' },
      });
      expect(sut.appOf('+918000000001')).toBe(APP_1);
    });

    it('hang on a link never answers and does not link', async () => {
      sut.setBehaviourFor('link', { kind: 'hang' });

      await unanswered(() => rawLink(APP_1, '+918000000001'));

      expect(sut.appOf('+918000000001')).toBeUndefined();
    });

    it('hang-after-apply on a link links, then never answers', async () => {
      sut.setBehaviourFor('link', { kind: 'hang-after-apply' });

      await unanswered(() => rawLink(APP_1, '+918000000001'));

      expect(sut.appOf('+918000000001')).toBe(APP_1);
      expect(await availableNumbers()).toEqual(['+918000000002']);
    });

    it('hang-after-apply on an unlink unlinks, then never answers', async () => {
      sut.link(APP_1, '+918000000001');
      sut.setBehaviourFor('unlink', { kind: 'hang-after-apply' });
      const pending = raw('DELETE', `apps/${APP_1}/numbers/%2B918000000001`);
      pending.catch(() => undefined);

      await eventually(
        () => (sut.appOf('+918000000001') === undefined ? true : undefined),
        'the unlink to be applied',
      );
      expect(await availableNumbers()).toContain('+918000000001');
    });

    it('reset on a link destroys the socket and does not link', async () => {
      sut.setBehaviourFor('link', { kind: 'reset' });

      await expect(rawLink(APP_1, '+918000000001')).rejects.toMatchObject({
        code: 'ECONNRESET',
      });
      expect(sut.appOf('+918000000001')).toBeUndefined();
      expect(sut.callsTo('link')).toBe(1);
    });

    it('reset-after-apply on a link links, then destroys the socket', async () => {
      sut.setBehaviourFor('link', { kind: 'reset-after-apply' });

      await expect(rawLink(APP_1, '+918000000001')).rejects.toMatchObject({
        code: 'ECONNRESET',
      });
      expect(sut.appOf('+918000000001')).toBe(APP_1);
    });

    it('reset-after-apply on an unlink unlinks, then destroys the socket', async () => {
      sut.link(APP_1, '+918000000001');
      sut.setBehaviourFor('unlink', { kind: 'reset-after-apply' });

      await expect(raw('DELETE', `apps/${APP_1}/numbers/%2B918000000001`)).rejects.toMatchObject({
        code: 'ECONNRESET',
      });
      expect(sut.appOf('+918000000001')).toBeUndefined();
    });

    it.each([
      ['list-apps', 'apps'],
      ['list-app-numbers', `apps/${APP_1}/numbers`],
    ] as const)('reset on %s destroys the socket', async (route, path) => {
      sut.setBehaviourFor(route, { kind: 'reset' });

      await expect(raw('GET', path)).rejects.toMatchObject({ code: 'ECONNRESET' });
    });

    it('ok with delayMs links on arrival and answers after the delay', async () => {
      sut.setBehaviourFor('link', { kind: 'ok', delayMs: 10_000 });

      await unanswered(() => rawLink(APP_1, '+918000000001'));

      expect(sut.appOf('+918000000001')).toBe(APP_1);
    });

    it.each([
      ['non-json', 'text/html; charset=utf-8'],
      ['truncated', 'application/json; charset=utf-8'],
      ['wrong-shape', 'application/json; charset=utf-8'],
    ] as const)('%s on a link links and garbles the 200 body', async (kind, contentType) => {
      sut.setBehaviourFor('link', { kind });

      const res = await fetch(`${baseUrl}/sfvopi/apps/${APP_1}/numbers`, {
        method: 'POST',
        headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
        body: '{"voip_number":"+918000000001"}',
      });

      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(contentType);
      const text = await res.text();
      expect(text).not.toBe(
        JSON.stringify({ data: linkOf(APP_1, '+918000000001'), message: 'success' }),
      );
      expect(sut.appOf('+918000000001')).toBe(APP_1);
    });
  });

  describe('counting and reset', () => {
    beforeEach(() => start());

    it('counts each route on its own; calls stays available-numbers', async () => {
      await listApps();
      await listApps();
      await link(APP_1, '+918000000001');
      await available();

      const counts = Object.fromEntries(
        (
          ['available-numbers', 'list-apps', 'list-app-numbers', 'link', 'unlink'] as StandInRoute[]
        ).map((r) => [r, sut.callsTo(r)]),
      );
      expect(counts).toEqual({
        'available-numbers': 1,
        'list-apps': 2,
        'list-app-numbers': 0,
        link: 1,
        unlink: 0,
      });
      expect(sut.calls).toBe(1);
    });

    it('waitForCallsTo resolves once the route saw enough calls, and names it on timeout', async () => {
      const waiting = sut.waitForCallsTo('unlink', 1);
      await unlink(APP_1, '%2B918000000001');

      await expect(waiting).resolves.toBeUndefined();
      await expect(sut.waitForCallsTo('link', 1, 20)).rejects.toThrow(
        'expected at least 1 calls to POST /superfone/sfvopi/apps/:app_id/numbers within 20 ms, saw 0',
      );
    });

    it('reset() restores apps, unlinks everything, restores numbers, counters and route behaviours', async () => {
      await link(APP_1, '+918000000001');
      sut.apps = [];
      sut.setBehaviourFor('unlink', { kind: 'status', status: 500 });
      sut.enqueueFor('link', { kind: 'hang' });

      sut.reset();

      expect(sut.callsTo('link')).toBe(0);
      expect(sut.apps).toEqual(demoApps());
      expect(sut.linksOf(APP_1)).toEqual([]);
      expect(sut.numbers).toEqual(NUMBERS);
      expect((await link(APP_1, '+918000000001')).status).toBe(200);
      expect((await unlink(APP_1, '%2B918000000001')).status).toBe(200);
    });
  });

  describe('control API', () => {
    beforeEach(() => start({ control: true }));

    const control = (path: string, init?: RequestInit): Promise<Response> =>
      fetch(`${new URL(baseUrl).origin}/__stand-in/${path}`, init);
    const post = (path: string, body: unknown): Promise<Response> =>
      control(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    it('POST behaviour/<route> sets that route’s persistent behaviour', async () => {
      const res = await post('behaviour/link', { kind: 'status', status: 504, apply: true });

      expect(res.status).toBe(204);
      expect((await link(APP_1, '+918000000001')).status).toBe(504);
      expect((await link(APP_2, '+918000000002')).status).toBe(504);
      expect((await available()).status).toBe(200);
    });

    it('POST enqueue/<route> queues one behaviour or an array of them', async () => {
      expect(
        (
          await post('enqueue/list-apps', [
            { kind: 'status', status: 500 },
            { kind: 'status', status: 502 },
          ])
        ).status,
      ).toBe(204);
      expect((await post('enqueue/list-apps', { kind: 'status', status: 503 })).status).toBe(204);

      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await listApps()).status);

      expect(statuses).toEqual([500, 502, 503, 200]);
    });

    it('POST enqueue without a route means available-numbers', async () => {
      await post('enqueue', { kind: 'status', status: 500 });

      expect((await available()).status).toBe(500);
      expect((await available()).status).toBe(200);
    });

    it.each([
      ['an unknown route', 'behaviour/nope', { kind: 'ok' }, 404],
      ['a route with a tail', 'behaviour/link/x', { kind: 'ok' }, 404],
      ['an empty array', 'enqueue/link', [], 400],
      ['an array to behaviour', 'behaviour/link', [{ kind: 'ok' }], 400],
      ['a bad item', 'enqueue/link', [{ kind: 'ok' }, { kind: 'explode' }], 400],
      ['a non-boolean apply', 'behaviour/link', { kind: 'status', status: 500, apply: 'yes' }, 400],
    ])('answers %s with %s', async (_, path, body, status) => {
      expect((await post(path, body)).status).toBe(status);
      expect((await link(APP_1, '+918000000001')).status).toBe(200);
    });

    it('GET stats counts every route; GET state shows numbers, apps and links', async () => {
      await link(APP_1, '+918000000001');
      await listApps();

      const stats = await control('stats');
      const state = await control('state');

      expect(await stats.json()).toEqual({
        calls: 0,
        routes: {
          'available-numbers': 0,
          'list-apps': 1,
          'list-app-numbers': 0,
          link: 1,
          unlink: 0,
        },
      });
      expect(await state.json()).toEqual({
        numbers: [NUMBERS[1]],
        apps: demoApps(),
        links: { [APP_1]: [linkOf(APP_1, '+918000000001')], [APP_2]: [] },
      });
    });
  });
});
