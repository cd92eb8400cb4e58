import {
  Body,
  Controller,
  Delete,
  DynamicModule,
  HttpCode,
  Module,
  type NestApplicationOptions,
  Param,
  Post,
  Res,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AppModule } from '../src/app.module';
import { RequireScope } from '../src/auth/scopes.decorator';
import { AppError } from '../src/common/app.error';
import { registerRequestHygiene } from '../src/common/http-hygiene';
import { requestIdFor } from '../src/common/request-state';
import { SECURITY_HEADERS } from '../src/common/security-headers';
import { loadConfig } from '../src/config/load-config';
import { Idempotent } from '../src/idempotency/idempotency.interceptor';
import { IdempotencyModule } from '../src/idempotency/idempotency.module';
import { AppLogger } from '../src/logging/app-logger';
import { readProblem } from './support/bodies';
import { CLIENT_KEYS_JSON, KEYS } from './support/client-keys.fixture';
import { parseRaw, rawRequest } from './support/raw-http';
import { deleteKeys, testRedisUrl } from './support/test-app';
import { eventually } from './support/timing';

/**
 * Idempotency-Key over HTTP, through the real app's guards and problem filter, on a probe
 * controller that stands in for the mutation routes (the routes themselves have their own suite).
 * `calls` counts handler runs: what the upstream calls of a real route would be.
 * Raw fetch on purpose: /probe is no route of openapi.json, so the generated client has no call
 * for it (number-links.e2e covers Idempotency-Key on the real routes through the client).
 */
const probe = {
  calls: 0,
  /** Thrown by the next call, once. */
  failNext: undefined as Error | undefined,
  /** When set, the next call reports it started, then waits for the test to let it finish. */
  hold: undefined as { started: () => void; until: Promise<void> } | undefined,
};

@Controller('probe')
class ProbeController {
  @Post(':id')
  @HttpCode(201)
  @RequireScope('numbers:refresh')
  @Idempotent()
  async create(
    @Param('id') id: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<unknown> {
    const n = ++probe.calls;
    const hold = probe.hold;
    probe.hold = undefined;
    if (hold) {
      hold.started();
      await hold.until;
    }
    const failure = probe.failNext;
    probe.failNext = undefined;
    if (failure) throw failure;
    void reply.header('location', `/probe/${encodeURIComponent(id)}`);
    return { data: { id, body, n } };
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScope('numbers:refresh')
  @Idempotent()
  remove(): void {
    probe.calls++;
  }

  /** The mistake @Idempotent() cannot work with: a handler that sends the reply itself. */
  @Post(':id/raw')
  @RequireScope('numbers:refresh')
  @Idempotent()
  raw(@Res() reply: FastifyReply): void {
    probe.calls++;
    void reply.code(201).send({ sent: 'by the handler' });
  }
}

@Module({})
class ProbeAppModule {}

interface Replica {
  readonly url: string;
  readonly app: NestFastifyApplication;
  readonly logs: string[];
}

describe('Idempotency-Key over HTTP', () => {
  const prefix = `superfone-bff-test:${randomUUID()}:`;
  const replicas: Replica[] = [];

  /** The real AppModule (guards, problem filter, Redis) plus the probe controller. */
  async function startReplica(withoutRedis = false): Promise<Replica> {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      SUPERFONE_BASE_URL: 'http://127.0.0.1:9',
      SUPERFONE_API_KEY: 'sf-server-key-idempotency',
      CLIENT_KEYS: CLIENT_KEYS_JSON,
      REDIS_URL: withoutRedis ? undefined : testRedisUrl(),
      REDIS_KEY_PREFIX: prefix,
      LOG_LEVEL: 'info',
    });
    const logs: string[] = [];
    const logger = new AppLogger(config, { write: (line: string) => logs.push(line) });
    const root: DynamicModule = {
      module: ProbeAppModule,
      imports: [AppModule.forRoot(config, logger), IdempotencyModule],
      controllers: [ProbeController],
    };
    const nestOptions: Pick<NestApplicationOptions, 'logger' | 'abortOnError'> = {
      logger: false,
      abortOnError: false,
    };
    const app = await NestFactory.create<NestFastifyApplication>(
      root,
      new FastifyAdapter({
        genReqId: (raw: unknown) => requestIdFor(raw as IncomingMessage),
        logger: false,
      }),
      nestOptions,
    );
    // X-Request-Id on every answer, as the real app sets it.
    registerRequestHygiene(app.getHttpAdapter().getInstance(), SECURITY_HEADERS);
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const replica = { url: `http://127.0.0.1:${port}`, app, logs };
    replicas.push(replica);
    return replica;
  }

  const auth = (key: string = KEYS.refresher) => ({ authorization: `Bearer ${key}` });
  function post(
    replica: Replica,
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    return fetch(`${replica.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth(), ...headers },
      body: JSON.stringify(body),
    });
  }
  const idem = (key: string) => ({ 'idempotency-key': `"${key}"` });

  beforeEach(() => {
    probe.calls = 0;
    probe.failNext = undefined;
    probe.hold = undefined;
  });
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.app.close()));
  });
  afterAll(async () => {
    await deleteKeys(testRedisUrl(), prefix);
  });

  it('a repeat replays status, Location and body with Idempotent-Replayed, without running again', async () => {
    const r = await startReplica();
    const key = randomUUID();

    const first = await post(r, '/probe/p1', { voipNumber: '+918000000001' }, idem(key));
    const firstBody: unknown = await first.json();
    const again = await post(r, '/probe/p1', { voipNumber: '+918000000001' }, idem(key));

    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe('/probe/p1');
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(await again.json()).toEqual(firstBody);
    expect(firstBody).toEqual({ data: { id: 'p1', body: { voipNumber: '+918000000001' }, n: 1 } });
    // The replay is its own request: its own id, not the first one's.
    expect(again.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
    expect(probe.calls).toBe(1);
  });

  it('without the header every request runs', async () => {
    const r = await startReplica();

    const answers = [await post(r, '/probe/p1', {}), await post(r, '/probe/p1', {})];

    expect(answers.map((a) => [a.status, a.headers.get('idempotent-replayed')])).toEqual([
      [201, null],
      [201, null],
    ]);
    expect(probe.calls).toBe(2);
  });

  it('the same key for another body or path is 422 IDEMPOTENCY_KEY_MISMATCH (problem+json), nothing runs', async () => {
    const r = await startReplica();
    const key = randomUUID();
    await post(r, '/probe/p1', { voipNumber: '+918000000001' }, idem(key));

    const otherBody = await post(r, '/probe/p1', { voipNumber: '+918000000002' }, idem(key));
    const otherPath = await post(r, '/probe/p2', { voipNumber: '+918000000001' }, idem(key));

    for (const answer of [otherBody, otherPath]) {
      expect(answer.status).toBe(422);
      expect(answer.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
      expect(await readProblem(answer)).toMatchObject({
        type: 'urn:superfone-bff:problem:idempotency-key-mismatch',
        status: 422,
        code: 'IDEMPOTENCY_KEY_MISMATCH',
        requestId: answer.headers.get('x-request-id'),
      });
    }
    expect(probe.calls).toBe(1);
  });

  it('while the first runs on one replica, the same request on another is 409 IDEMPOTENCY_KEY_IN_USE; then it replays', async () => {
    const [a, b] = [await startReplica(), await startReplica()];
    const key = randomUUID();
    let finish = (): void => undefined;
    const started = new Promise<void>((resolve) => {
      probe.hold = {
        started: resolve,
        until: new Promise<void>((release) => {
          finish = release;
        }),
      };
    });

    const first = post(a, '/probe/p1', { voipNumber: '+918000000001' }, idem(key));
    await started;
    const concurrent = await post(b, '/probe/p1', { voipNumber: '+918000000001' }, idem(key));
    finish();
    const firstAnswer = await first;
    const retry = await post(b, '/probe/p1', { voipNumber: '+918000000001' }, idem(key));

    expect(concurrent.status).toBe(409);
    expect(concurrent.headers.get('retry-after')).toBe('1');
    expect(await readProblem(concurrent)).toMatchObject({
      type: 'urn:superfone-bff:problem:idempotency-key-in-use',
      code: 'IDEMPOTENCY_KEY_IN_USE',
    });
    expect(firstAnswer.status).toBe(201);
    expect([retry.status, retry.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
    expect(probe.calls).toBe(1);
  });

  it('a 404 problem is replayed (with the retry’s own requestId); a 504 is not kept, so the retry runs', async () => {
    const r = await startReplica();
    const [goneKey, timeoutKey] = [randomUUID(), randomUUID()];
    probe.failNext = new AppError('NOT_FOUND', 'No app app-9.');
    const gone = await post(r, '/probe/p1', {}, idem(goneKey));
    const goneAgain = await post(r, '/probe/p1', {}, idem(goneKey));
    probe.failNext = new AppError('UPSTREAM_TIMEOUT', 'Superfone did not answer in time.');
    const timedOut = await post(r, '/probe/p2', {}, idem(timeoutKey));
    const retried = await post(r, '/probe/p2', {}, idem(timeoutKey));

    expect([gone.status, goneAgain.status]).toEqual([404, 404]);
    expect(goneAgain.headers.get('idempotent-replayed')).toBe('true');
    const replayed = await readProblem(goneAgain);
    expect(replayed).toMatchObject({ code: 'NOT_FOUND', detail: 'No app app-9.' });
    expect(replayed.requestId).toBe(goneAgain.headers.get('x-request-id'));
    expect(timedOut.status).toBe(504);
    expect([retried.status, retried.headers.get('idempotent-replayed')]).toEqual([201, null]);
    // 404 once; 504, then its retry.
    expect(probe.calls).toBe(3);
  });

  it('DELETE: 204 replayed; %2B… and a literal + in the path are the same request', async () => {
    const r = await startReplica();
    const key = randomUUID();
    const del = (path: string) =>
      fetch(`${r.url}${path}`, { method: 'DELETE', headers: { ...auth(), ...idem(key) } });

    const first = await del('/probe/%2B918000000001');
    const again = await del('/probe/+918000000001');

    expect([first.status, await first.text()]).toEqual([204, '']);
    expect([again.status, await again.text()]).toEqual([204, '']);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(probe.calls).toBe(1);
  });

  it('two clients with the same key each run their own request', async () => {
    const r = await startReplica();
    const key = randomUUID();

    const one = await post(r, '/probe/p1', { a: 1 }, idem(key));
    const other = await post(r, '/probe/p1', { b: 2 }, { ...idem(key), ...auth(KEYS.refreshOnly) });

    expect([one.status, other.status]).toEqual([201, 201]);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
    expect(probe.calls).toBe(2);
  });

  it('a malformed or repeated Idempotency-Key is 400 INVALID_REQUEST, before anything runs', async () => {
    const r = await startReplica();

    const empty = await post(r, '/probe/p1', {}, { 'idempotency-key': '""' });
    const list = await post(r, '/probe/p1', {}, { 'idempotency-key': '"a", "b"' });
    const body = '{}';
    const twice = parseRaw(
      await rawRequest(
        r.url,
        [
          'POST /probe/p1 HTTP/1.1',
          'Host: x',
          `Authorization: Bearer ${KEYS.refresher}`,
          'Content-Type: application/json',
          'Idempotency-Key: same',
          'Idempotency-Key: same',
          `Content-Length: ${body.length}`,
          'Connection: close',
          '',
          body,
        ].join('\r\n'),
      ),
    );

    for (const answer of [empty, list]) {
      expect(answer.status).toBe(400);
      expect(await readProblem(answer)).toMatchObject({ code: 'INVALID_REQUEST' });
    }
    expect(twice.status).toBe(400);
    expect(twice.body).toMatchObject({
      code: 'INVALID_REQUEST',
      detail: 'Send one Idempotency-Key field, not several.',
    });
    expect(probe.calls).toBe(0);
  });

  it('without Redis, one process keeps the same promises', async () => {
    const r = await startReplica(true);
    const key = randomUUID();
    let finish = (): void => undefined;
    const started = new Promise<void>((resolve) => {
      probe.hold = {
        started: resolve,
        until: new Promise<void>((release) => {
          finish = release;
        }),
      };
    });

    const first = post(r, '/probe/p1', { n: 1 }, idem(key));
    await started;
    const concurrent = await post(r, '/probe/p1', { n: 1 }, idem(key));
    const mismatch = await post(r, '/probe/p1', { n: 2 }, idem(key));
    finish();
    await first;
    const again = await post(r, '/probe/p1', { n: 1 }, idem(key));

    expect([concurrent.status, mismatch.status, again.status]).toEqual([409, 422, 201]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(probe.calls).toBe(1);
  });

  it('a handler that sends the reply itself keeps nothing, and says so in the log', async () => {
    const r = await startReplica();
    const key = randomUUID();

    const answers = [
      await post(r, '/probe/p1/raw', {}, idem(key)),
      await post(r, '/probe/p1/raw', {}, idem(key)),
    ];

    expect(answers.map((a) => a.status)).toEqual([201, 201]);
    expect(probe.calls).toBe(2);
    // The error is noticed after the handler's own reply went out, so its line can trail the answer.
    const logged = () => r.logs.filter((l) => l.includes('must return its body'));
    await eventually(() => (logged().length >= 2 ? true : undefined), 'both errors in the log');
    expect(logged()).toHaveLength(2);
  });
});
