import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { AppError } from '../src/common/app.error';
import { Metrics } from '../src/metrics/metrics';
import { SuperfoneClient } from '../src/superfone/superfone.client';
import {
  AppNotFoundError,
  NumberAlreadyLinkedError,
  NumberNotFoundError,
  NumberNotLinkedError,
  NumberRejectedError,
  UpstreamBadResponseError,
  UpstreamErrorResponse,
  UpstreamOutcomeUnknownError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../src/superfone/upstream.errors';
import { traceFor } from '../src/tracing/trace-context';
import type {
  StandInBehaviour,
  StandInRoute,
} from '../tools/superfone-stand-in/superfone-stand-in';
import { parseLogLine } from './support/bodies';
import { Harness, SERVER_KEY, startHarness } from './support/test-app';

const APP_1 = 'sfv_app_demo00000001';
const APP_2 = 'sfv_app_demo00000002';
const NUMBER = '+918000000001';
const TIMEOUT_MS = 400;

/** The error a promise rejects with (the test fails when it resolves). */
async function failureOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** A port on 127.0.0.1 that nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return port;
}

/** The sum of a counter's samples that carry `labels`. */
async function counterValue(
  metric: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> },
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([name, value]) => v.labels[name] === value))
    .reduce((sum, v) => sum + v.value, 0);
}

describe(`${SuperfoneClient.name} against the stand-in`, () => {
  let h: Harness;
  let sut: SuperfoneClient;
  let metrics: Metrics;

  beforeAll(async () => {
    // A breaker that never opens here: these tests fail on purpose, one after another.
    h = await startHarness({
      env: { SUPERFONE_TIMEOUT_MS: String(TIMEOUT_MS), BREAKER_VOLUME_THRESHOLD: '1000' },
    });
    sut = h.app.get(SuperfoneClient);
    metrics = h.app.get(Metrics);
  });
  beforeEach(() => {
    h.standIn.reset();
  });
  afterAll(async () => {
    await h.close();
  });

  const failuresLogged = (): number =>
    h.logs.filter((line) => line.includes('superfone call failed')).length;

  describe(SuperfoneClient.prototype.listApps.name, () => {
    it("returns Superfone's apps newest first in the service's shape, sending the key and the trace", async () => {
      const trace = traceFor(undefined);

      const apps = await sut.listApps(trace);

      expect(apps).toEqual([
        {
          appId: APP_2,
          name: 'Sales line',
          status: 'ACTIVE',
          createdAt: '2026-01-12T09:30:00.000Z',
        },
        {
          appId: APP_1,
          name: 'Support line',
          status: 'ACTIVE',
          createdAt: '2026-01-05T09:00:00.000Z',
        },
      ]);
      const [request] = h.standIn.requests;
      expect(request).toMatchObject({ method: 'GET', path: '/superfone/sfvopi/apps' });
      expect(request.headers['x-api-key']).toBe(SERVER_KEY);
      expect(request.headers.traceparent).toBe(`00-${trace.traceId}-${trace.spanId}-01`);
    });

    it.each([
      ['the wrong shape', { kind: 'wrong-shape' }, UpstreamBadResponseError],
      ['non-JSON', { kind: 'non-json' }, UpstreamBadResponseError],
      ['a 500', { kind: 'status', status: 500 }, UpstreamErrorResponse],
      ['a 404 (the route gone)', { kind: 'status', status: 404 }, UpstreamErrorResponse],
    ] as const)('turns %s into its upstream error', async (_, behaviour, type) => {
      h.standIn.setBehaviourFor('list-apps', behaviour);

      expect(await failureOf(sut.listApps())).toBeInstanceOf(type);
    });

    it('rejects the whole list when one app is not the documented shape', async () => {
      h.standIn.apps[0].created_at = 'yesterday';

      expect(await failureOf(sut.listApps())).toBeInstanceOf(UpstreamBadResponseError);
    });
  });

  describe(SuperfoneClient.prototype.listAppNumbers.name, () => {
    it("returns the app's links in the service's shape, linkedAt being the link's created_at", async () => {
      expect(await sut.listAppNumbers(APP_1)).toEqual([]);
      h.standIn.link(APP_1, NUMBER);

      const [link] = h.standIn.linksOf(APP_1);
      expect(await sut.listAppNumbers(APP_1)).toEqual([
        { appId: APP_1, voipNumber: NUMBER, status: 'ACTIVE', linkedAt: link.created_at },
      ]);
      expect(h.standIn.requests.at(-1)?.path).toBe(`/superfone/sfvopi/apps/${APP_1}/numbers`);
    });

    it.each([
      ['App not found', { kind: 'ok' }],
      [
        'SFVoPI app not found',
        { kind: 'status', status: 404, body: '{"message":"SFVoPI app not found"}' },
      ],
      ['any case', { kind: 'status', status: 404, body: '{"message":"APP NOT FOUND"}' }],
    ] as const)(
      'throws AppNotFoundError (404 APP_NOT_FOUND) for %s',
      async (_, behaviour: StandInBehaviour) => {
        h.standIn.setBehaviourFor('list-app-numbers', behaviour);

        const error = await failureOf(sut.listAppNumbers('sfv_app_unknown'));

        expect(error).toBeInstanceOf(AppNotFoundError);
        expect(error).toMatchObject({ code: 'APP_NOT_FOUND', status: 404 });
      },
    );

    it('keeps a 404 without the app message an upstream error', async () => {
      h.standIn.setBehaviourFor('list-app-numbers', {
        kind: 'status',
        status: 404,
        body: '{"message":"Not Found"}',
      });

      expect(await failureOf(sut.listAppNumbers(APP_1))).toBeInstanceOf(UpstreamErrorResponse);
    });

    it('encodes the app id as one path segment', async () => {
      const error = await failureOf(sut.listAppNumbers('a/b?c'));

      expect(error).toBeInstanceOf(AppNotFoundError);
      expect(h.standIn.requests.at(-1)?.path).toBe('/superfone/sfvopi/apps/a%2Fb%3Fc/numbers');
    });
  });

  describe(SuperfoneClient.prototype.linkNumber.name, () => {
    it('links: returns the link and sends {"voip_number"} as JSON', async () => {
      const link = await sut.linkNumber(APP_1, NUMBER);

      expect(link).toEqual({
        appId: APP_1,
        voipNumber: NUMBER,
        status: 'ACTIVE',
        linkedAt: h.standIn.linksOf(APP_1)[0].created_at,
      });
      expect(h.standIn.appOf(NUMBER)).toBe(APP_1);
      const [request] = h.standIn.requests;
      expect(request).toMatchObject({
        method: 'POST',
        path: `/superfone/sfvopi/apps/${APP_1}/numbers`,
        body: '{"voip_number":"+918000000001"}',
      });
      expect(request.headers['content-type']).toMatch(/^application\/json/);
      expect(request.headers['x-api-key']).toBe(SERVER_KEY);
    });

    it.each([
      ['an unknown app', 'sfv_app_unknown', NUMBER, AppNotFoundError, 'APP_NOT_FOUND', 404],
      [
        'a number the org does not own',
        APP_1,
        '+919999999999',
        NumberNotFoundError,
        'NUMBER_NOT_FOUND',
        422,
      ],
    ] as const)('maps %s to its problem', async (_, appId, voipNumber, type, code, status) => {
      const error = await failureOf(sut.linkNumber(appId, voipNumber));

      expect(error).toBeInstanceOf(type);
      expect(error).toMatchObject({ code, status });
    });

    it.each([
      ['another app', APP_2],
      ['the same app (Superfone answers 409 there too)', APP_1],
    ])('throws NumberAlreadyLinkedError (409) for a number linked to %s', async (_, holder) => {
      h.standIn.link(holder, NUMBER);

      const error = await failureOf(sut.linkNumber(APP_1, NUMBER));

      expect(error).toBeInstanceOf(NumberAlreadyLinkedError);
      expect(error).toMatchObject({ code: 'NUMBER_ALREADY_LINKED', status: 409 });
      expect(h.standIn.appOf(NUMBER)).toBe(holder);
    });

    it.each([
      ['Number not found…', 400, 'Number not found: +918000000001', NumberNotFoundError],
      ['Invalid phone number', 400, 'Invalid phone number', NumberRejectedError],
      ['Invalid request body', 400, 'Invalid request body', NumberRejectedError],
      ['a 409 in other words', 409, 'Conflict', NumberAlreadyLinkedError],
    ] as const)(
      'maps a %s answer by status and message prefix',
      async (_, status, message, type) => {
        h.standIn.setBehaviourFor('link', {
          kind: 'status',
          status,
          body: JSON.stringify({ message }),
        });

        expect(await failureOf(sut.linkNumber(APP_1, NUMBER))).toBeInstanceOf(type);
      },
    );

    it('answers INVALID_REQUEST (400) for a number Superfone rejects as invalid', async () => {
      h.standIn.setBehaviourFor('link', {
        kind: 'status',
        status: 400,
        body: '{"message":"Invalid phone number"}',
      });

      expect(await failureOf(sut.linkNumber(APP_1, NUMBER))).toMatchObject({
        code: 'INVALID_REQUEST',
        status: 400,
      });
    });

    it('rejects a 200 whose body is not a link, as for every call', async () => {
      h.standIn.setBehaviourFor('link', { kind: 'wrong-shape' });

      expect(await failureOf(sut.linkNumber(APP_1, NUMBER))).toBeInstanceOf(
        UpstreamBadResponseError,
      );
    });
  });

  describe(SuperfoneClient.prototype.unlinkNumber.name, () => {
    it('unlinks, sending the number as %2B… in the path', async () => {
      h.standIn.link(APP_1, NUMBER);

      await expect(sut.unlinkNumber(APP_1, NUMBER)).resolves.toBeUndefined();

      expect(h.standIn.appOf(NUMBER)).toBeUndefined();
      expect(h.standIn.numbers.map((n) => n.voip_number)).toContain(NUMBER);
      expect(h.standIn.requests.at(-1)).toMatchObject({
        method: 'DELETE',
        path: `/superfone/sfvopi/apps/${APP_1}/numbers/%2B918000000001`,
      });
    });

    it.each([
      ['not linked to that app', APP_2, NumberNotLinkedError, 'NUMBER_NOT_LINKED', 404],
      ['on an unknown app', 'sfv_app_unknown', AppNotFoundError, 'APP_NOT_FOUND', 404],
    ] as const)('maps a number %s to its problem', async (_, appId, type, code, status) => {
      h.standIn.link(APP_1, NUMBER);

      const error = await failureOf(sut.unlinkNumber(appId, NUMBER));

      expect(error).toBeInstanceOf(type);
      expect(error).toMatchObject({ code, status });
      expect(h.standIn.appOf(NUMBER)).toBe(APP_1);
    });
  });

  describe('refusals', () => {
    it('are neither upstream failures in the metrics nor warnings in the log', async () => {
      const failuresBefore = await counterValue(metrics.upstreamFailures);
      const logged = failuresLogged();
      h.standIn.link(APP_2, NUMBER);

      await failureOf(sut.linkNumber(APP_1, NUMBER));
      await failureOf(sut.unlinkNumber(APP_1, NUMBER));
      await failureOf(sut.listAppNumbers('sfv_app_unknown'));

      expect(await counterValue(metrics.upstreamFailures)).toBe(failuresBefore);
      expect(failuresLogged()).toBe(logged);
    });

    it('do not open the circuit', async () => {
      const strict = await startHarness({
        env: {
          BREAKER_VOLUME_THRESHOLD: '2',
          BREAKER_ERROR_THRESHOLD_PERCENT: '1',
          BREAKER_RESET_MS: '60000',
        },
      });
      try {
        const client = strict.app.get(SuperfoneClient);
        strict.standIn.link(APP_2, NUMBER);
        for (let i = 0; i < 5; i++)
          expect(await failureOf(client.linkNumber(APP_1, NUMBER))).toBeInstanceOf(
            NumberAlreadyLinkedError,
          );

        await expect(client.linkNumber(APP_1, '+918000000002')).resolves.toMatchObject({
          appId: APP_1,
        });
        expect(strict.standIn.callsTo('link')).toBe(6);
      } finally {
        await strict.close();
      }
    });
  });

  describe('a change whose outcome is unknown', () => {
    const change = (route: 'link' | 'unlink') =>
      route === 'link' ? sut.linkNumber(APP_1, NUMBER) : sut.unlinkNumber(APP_1, NUMBER);
    const arrange = (route: 'link' | 'unlink'): void => {
      if (route === 'unlink') h.standIn.link(APP_1, NUMBER);
    };
    const applied = (route: 'link' | 'unlink'): boolean =>
      route === 'link' ? h.standIn.appOf(NUMBER) === APP_1 : h.standIn.appOf(NUMBER) === undefined;

    it.each([
      ['link', 'hang', 'timeout', false],
      ['link', 'hang-after-apply', 'timeout', true],
      ['link', 'reset', 'ECONNRESET', false],
      ['link', 'reset-after-apply', 'ECONNRESET', true],
      ['unlink', 'hang', 'timeout', false],
      ['unlink', 'hang-after-apply', 'timeout', true],
      ['unlink', 'reset', 'ECONNRESET', false],
      ['unlink', 'reset-after-apply', 'ECONNRESET', true],
    ] as const)(
      '%s answered by %s: UpstreamOutcomeUnknownError (504), one attempt',
      async (route: StandInRoute & ('link' | 'unlink'), kind, reason, wasApplied) => {
        arrange(route);
        h.standIn.setBehaviourFor(route, { kind });

        const error = await failureOf(change(route));

        expect(error).toBeInstanceOf(UpstreamOutcomeUnknownError);
        expect(error).toMatchObject({ code: 'UPSTREAM_TIMEOUT', status: 504, reason });
        expect(h.standIn.callsTo(route)).toBe(1);
        expect(applied(route)).toBe(wasApplied);
      },
    );

    it.each([
      ['link', 502, false],
      ['link', 503, false],
      ['link', 504, true],
      ['unlink', 503, true],
    ] as const)(
      '%s answered by a gateway %i: UpstreamOutcomeUnknownError, never retried',
      async (route, status, apply) => {
        arrange(route);
        h.standIn.setBehaviourFor(route, { kind: 'status', status, apply });

        const error = await failureOf(change(route));

        expect(error).toBeInstanceOf(UpstreamOutcomeUnknownError);
        expect(error).toMatchObject({ reason: `HTTP ${status}`, upstreamStatus: status });
        expect(h.standIn.callsTo(route)).toBe(1);
        expect(applied(route)).toBe(apply);
      },
    );

    it('a 500 is an upstream error, not retried', async () => {
      h.standIn.setBehaviourFor('link', { kind: 'status', status: 500 });

      expect(await failureOf(sut.linkNumber(APP_1, NUMBER))).toBeInstanceOf(UpstreamErrorResponse);
      expect(h.standIn.callsTo('link')).toBe(1);
    });

    it('is logged once at warn as an upstream timeout, classified by what happened', async () => {
      const before = h.logs.length;
      const resetsBefore = await counterValue(metrics.upstreamFailures, {
        classification: 'upstream_unavailable',
      });
      h.standIn.setBehaviourFor('link', { kind: 'reset' });

      await failureOf(sut.linkNumber(APP_1, NUMBER));

      const lines = h.logs.slice(before).filter((l) => l.includes('superfone call failed'));
      expect(lines.map(parseLogLine)).toEqual([
        expect.objectContaining({
          level: 40,
          operation: 'link',
          upstream: 'UPSTREAM_TIMEOUT',
          reason: 'ECONNRESET',
          outcomeUnknown: true,
          attempts: 1,
        }),
      ]);
      expect(
        await counterValue(metrics.upstreamFailures, { classification: 'upstream_unavailable' }),
      ).toBe(resetsBefore + 1);
    });

    it('a read after a reset is still retried', async () => {
      h.standIn.enqueueFor('list-app-numbers', { kind: 'reset' }, { kind: 'hang' });

      expect(await failureOf(sut.listAppNumbers(APP_1))).toBeInstanceOf(UpstreamTimeoutError);
      expect(h.standIn.callsTo('list-app-numbers')).toBe(2);
    });
  });

  describe('reads', () => {
    let patient: Harness;

    beforeAll(async () => {
      // Room for two backoffs inside the deadline, as in resilience.e2e-spec.ts.
      patient = await startHarness({ env: { SUPERFONE_TIMEOUT_MS: '2500' } });
    });
    afterAll(async () => {
      await patient.close();
    });

    it.each([
      ['list-apps', () => patient.app.get(SuperfoneClient).listApps()],
      ['list-app-numbers', () => patient.app.get(SuperfoneClient).listAppNumbers(APP_1)],
    ] as const)(
      '%s is retried after a reset and a 503, like available-numbers',
      async (route, read) => {
        patient.standIn.enqueueFor(route, { kind: 'reset' }, { kind: 'status', status: 503 });

        await expect(read()).resolves.toBeInstanceOf(Array);
        expect(patient.standIn.callsTo(route)).toBe(3);
      },
    );
  });

  describe('a change that surely did not reach Superfone', () => {
    let refused: Harness;
    let client: SuperfoneClient;

    beforeAll(async () => {
      refused = await startHarness({
        env: {
          SUPERFONE_BASE_URL: `http://127.0.0.1:${await closedPort()}/superfone`,
          SUPERFONE_TIMEOUT_MS: '2000',
          BREAKER_VOLUME_THRESHOLD: '1000',
        },
      });
      client = refused.app.get(SuperfoneClient);
    });
    afterAll(async () => {
      await refused.close();
    });

    it.each([
      ['link', () => client.linkNumber(APP_1, NUMBER)],
      ['unlink', () => client.unlinkNumber(APP_1, NUMBER)],
    ])('%s is retried on a refused connection, then UPSTREAM_UNAVAILABLE', async (_, change) => {
      const before = refused.logs.length;
      const retries = await counterValue(refused.app.get(Metrics).upstreamRetries);

      const error = await failureOf(change());

      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'ECONNREFUSED' });
      expect(error.headers['retry-after']).toMatch(/^\d+$/);
      const failed = refused.logs.slice(before).filter((l) => l.includes('superfone call failed'));
      expect(failed.map(parseLogLine)).toEqual([expect.objectContaining({ attempts: 3 })]);
      expect(await counterValue(refused.app.get(Metrics).upstreamRetries)).toBe(retries + 2);
    });
  });

  it('never puts the server key in an error or a log line', async () => {
    const errors: unknown[] = [];
    for (const behaviour of [
      { kind: 'status', status: 401 },
      { kind: 'reset' },
      { kind: 'hang' },
      { kind: 'status', status: 503 },
    ] as const) {
      h.standIn.setBehaviourFor('link', behaviour);
      h.standIn.setBehaviourFor('list-apps', behaviour);
      errors.push(await failureOf(sut.linkNumber(APP_1, NUMBER)));
      errors.push(await failureOf(sut.listApps()));
    }

    for (const error of errors) {
      expect(JSON.stringify(error)).not.toContain(SERVER_KEY);
      expect(String(error)).not.toContain(SERVER_KEY);
    }
    expect(h.logs.join('\n')).not.toContain(SERVER_KEY);
  });
});
