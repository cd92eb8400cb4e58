import SwaggerParser from '@apidevtools/swagger-parser';
import { expect } from '@jest/globals';
import { z } from 'zod';
import type {
  StandInBehaviour,
  StandInRoute,
} from '../tools/superfone-stand-in/superfone-stand-in';
import { freePort } from '../tools/free-port';
import { CLIENTS, clientKeyEntry, clientKeysJson, KEYS } from './support/client-keys.fixture';
import { parseJson, problemBody, readJson } from './support/bodies';
import { APP_1, APP_2, NUMBER, NUMBER_IN_PATH, linkAnswer } from './support/number-links';
import { parseRaw, rawRequest } from './support/raw-http';
import { bearer, Harness, startHarness } from './support/test-app';

const LIMITED = 'sfb_openapi-limited-key-0000000000000000005';
const LIMITED_LINKER = 'sfb_openapi-limited-linker-key-000000000006';
const CLIENT_KEYS = clientKeysJson([
  CLIENTS.reader,
  CLIENTS.refresher,
  CLIENTS.refreshOnly,
  CLIENTS.linker,
  clientKeyEntry('limited-app', LIMITED, ['numbers:read', 'numbers:refresh'], 1),
  clientKeyEntry('limited-linker-app', LIMITED_LINKER, ['apps:read', 'numbers:link'], 1),
]);

/**
 * A response read to its end. Every request here reads its body: an unread one (the 1.5 MB
 * swagger-ui-bundle.js above all) keeps its connection busy, and closing the app waits for it.
 */
interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

async function answer(response: Promise<Response>): Promise<Answer> {
  const res = await response;
  return { status: res.status, headers: res.headers, body: await res.text() };
}

// Raw fetch on purpose: this suite checks the document itself, route by route from its own path
// and method strings, and many scenarios send what it does not allow (?colour=red, XML, 1 KiB).
const call = (h: Harness, path: string, method: string, headers: Record<string, string> = {}) =>
  answer(fetch(`${h.url}${path}`, { method, headers }));
const get = (h: Harness, path: string) => answer(h.get(path));

/**
 * Superfone's deadline in these apps: short, since the 504 scenarios wait it out, but long enough
 * that a reset's retries (with their backoff) end as the 503 they are on a busy machine, not a 504.
 */
const SUPERFONE_TIMEOUT_MS = '1000';

/** How to make each operation answer each status, against a fresh app. */
const numbersScenarios: Record<
  string,
  (h: Harness, path: string, method: string) => Promise<Answer>
> = {
  200: (h, path, method) => call(h, path, method, bearer(KEYS.refresher)),
  304: async (h, path, method) => {
    const first = await call(h, path, method, bearer(KEYS.refresher));
    const etag = first.headers.get('etag');
    if (etag === null) throw new Error(`${method} ${path} answered without an ETag`);
    return call(h, path, method, { ...bearer(KEYS.refresher), 'if-none-match': etag });
  },
  400: (h, path, method) => call(h, `${path}?colour=red`, method, bearer(KEYS.refresher)),
  401: (h, path, method) => call(h, path, method),
  403: (h, path, method) =>
    call(h, path, method, bearer(method === 'GET' ? KEYS.refreshOnly : KEYS.reader)),
  429: async (h, path, method) => {
    await call(h, path, method, bearer(LIMITED));
    return call(h, path, method, bearer(LIMITED));
  },
  502: (h, path, method) => failing(h, path, method, { kind: 'status', status: 500 }),
  503: (h, path, method) => failing(h, path, method, { kind: 'reset' }),
  504: (h, path, method) => failing(h, path, method, { kind: 'hang' }),
};

function failing(
  h: Harness,
  path: string,
  method: string,
  behaviour: StandInBehaviour,
): Promise<Answer> {
  h.standIn.setBehaviour(behaviour);
  return call(h, path, method, bearer(KEYS.refresher));
}

/** A request with a body (or none), read to its end. */
const send = (
  h: Harness,
  method: string,
  path: string,
  { key = KEYS.linker, headers = {}, body }: SendOptions = {},
) =>
  answer(
    fetch(`${h.url}${path}`, {
      method,
      headers: {
        ...(key ? bearer(key) : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined || typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );
interface SendOptions {
  /** The client key (KEYS.linker unless said; null: none). */
  key?: string | null;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Headers a problem carries besides the usual ones, as the document names them. */
const PROBLEM_HEADERS: Record<string, string> = {
  UNAUTHENTICATED: 'WWW-Authenticate',
  RATE_LIMITED: 'Retry-After',
  UPSTREAM_UNAVAILABLE: 'Retry-After',
  IDEMPOTENCY_KEY_IN_USE: 'Retry-After',
};

const APP_NUMBERS = `/apps/${APP_1}/numbers`;
const THE_LINK = `${APP_NUMBERS}/${NUMBER_IN_PATH}`;
const OVER_1_KIB = JSON.stringify({ voipNumber: NUMBER, padding: 'x'.repeat(1100) });
const XML = { 'content-type': 'application/xml' };

type Scenario = (h: Harness) => Promise<Answer>;

/** The 2xx and 3xx each route answers, and how to make it answer each. */
interface AppsRoute {
  readonly path: string;
  readonly method: 'get' | 'post' | 'delete';
  readonly scope: string;
  /** The upstream route its Superfone call goes to. */
  readonly upstream: StandInRoute;
  /** `<status>` for a success, `<status> <CODE>` for a problem. */
  readonly scenarios: Record<string, Scenario>;
}

/** A GET scenario set: the list, its 304, and every problem a cached read can answer. */
function readScenarios(path: string, upstream: StandInRoute): Record<string, Scenario> {
  const read = (h: Harness, key: string | null = KEYS.linker, headers = {}) =>
    send(h, 'GET', path, { key, headers });
  const failing = (h: Harness, behaviour: StandInBehaviour) => {
    h.standIn.setBehaviourFor(upstream, behaviour);
    return read(h);
  };
  return {
    200: (h) => read(h),
    304: async (h) => {
      const etag = (await read(h)).headers.get('etag') ?? 'no ETag';
      return read(h, KEYS.linker, { 'if-none-match': etag });
    },
    '400 INVALID_REQUEST': (h) => send(h, 'GET', `${path}?colour=red`),
    '401 UNAUTHENTICATED': (h) => read(h, null),
    '403 FORBIDDEN': (h) => read(h, KEYS.reader),
    '429 RATE_LIMITED': async (h) => {
      await read(h, LIMITED_LINKER);
      return read(h, LIMITED_LINKER);
    },
    '502 UPSTREAM_AUTH_FAILED': (h) => failing(h, { kind: 'status', status: 401 }),
    '502 UPSTREAM_ERROR': (h) => failing(h, { kind: 'status', status: 500 }),
    '502 UPSTREAM_BAD_RESPONSE': (h) => failing(h, { kind: 'non-json' }),
    '503 UPSTREAM_UNAVAILABLE': (h) => failing(h, { kind: 'reset' }),
    '504 UPSTREAM_TIMEOUT': (h) => failing(h, { kind: 'hang' }),
  };
}

/** The problems a link or unlink answers alike, `change` making the request with a client key and headers. */
function changeScenarios(
  upstream: StandInRoute,
  change: (h: Harness, key?: string | null, headers?: Record<string, string>) => Promise<Answer>,
  arrange: (h: Harness) => void = () => undefined,
): Record<string, Scenario> {
  const failing = (h: Harness, behaviour: StandInBehaviour) => {
    arrange(h);
    h.standIn.setBehaviourFor(upstream, behaviour);
    return change(h);
  };
  return {
    '401 UNAUTHENTICATED': (h) => change(h, null),
    '403 FORBIDDEN': (h) => change(h, KEYS.reader),
    '429 RATE_LIMITED': async (h) => {
      arrange(h);
      await change(h, LIMITED_LINKER);
      return change(h, LIMITED_LINKER);
    },
    '409 IDEMPOTENCY_KEY_IN_USE': async (h) => {
      arrange(h);
      h.standIn.setBehaviourFor(upstream, { kind: 'hang' });
      const first = change(h, KEYS.linker, { 'idempotency-key': '"in-use"' });
      await h.standIn.waitForCallsTo(upstream, 1);
      const second = await change(h, KEYS.linker, { 'idempotency-key': '"in-use"' });
      await first;
      return second;
    },
    '502 UPSTREAM_AUTH_FAILED': (h) => failing(h, { kind: 'status', status: 401 }),
    '502 UPSTREAM_ERROR': (h) => failing(h, { kind: 'status', status: 500 }),
    // A 200 Superfone sent without making the change: the app's list, read after, does not show it.
    '502 UPSTREAM_BAD_RESPONSE': (h) =>
      failing(h, { kind: 'status', status: 200, body: '<html>', contentType: 'text/html' }),
    // Connection refused: the change surely never left, so it is retried, then 503.
    '503 UPSTREAM_UNAVAILABLE': async (h) => {
      arrange(h);
      await h.standIn.stop();
      return change(h);
    },
    // Superfone hangs without changing anything: the app's list, read after, cannot confirm it.
    '504 UPSTREAM_TIMEOUT': (h) => failing(h, { kind: 'hang' }),
  };
}

const link = (h: Harness, key: string | null = KEYS.linker, headers: Record<string, string> = {}) =>
  send(h, 'POST', APP_NUMBERS, { key, headers, body: { voipNumber: NUMBER } });
/** Unlinks NUMBER from APP_1 (linked there by `linked` first). */
const unlink = (
  h: Harness,
  key: string | null = KEYS.linker,
  headers: Record<string, string> = {},
) => send(h, 'DELETE', THE_LINK, { key, headers });
const linked = (h: Harness) => {
  h.standIn.link(APP_1, NUMBER);
};

const APPS_ROUTES: AppsRoute[] = [
  {
    path: '/apps',
    method: 'get',
    scope: 'apps:read',
    upstream: 'list-apps',
    scenarios: readScenarios('/apps', 'list-apps'),
  },
  {
    path: '/apps/{appId}/numbers',
    method: 'get',
    scope: 'apps:read',
    upstream: 'list-app-numbers',
    scenarios: {
      ...readScenarios(APP_NUMBERS, 'list-app-numbers'),
      '404 APP_NOT_FOUND': (h) => send(h, 'GET', '/apps/sfv_app_nobody/numbers'),
    },
  },
  {
    path: '/apps/{appId}/numbers',
    method: 'post',
    scope: 'numbers:link',
    upstream: 'link',
    scenarios: {
      201: (h) => link(h),
      200: (h) => {
        linked(h);
        return link(h);
      },
      '400 INVALID_REQUEST': (h) => send(h, 'POST', APP_NUMBERS, { body: { voipNumber: '8000' } }),
      '404 APP_NOT_FOUND': (h) =>
        send(h, 'POST', '/apps/sfv_app_nobody/numbers', { body: { voipNumber: NUMBER } }),
      '409 NUMBER_ALREADY_LINKED': (h) => {
        h.standIn.link(APP_2, NUMBER);
        return link(h);
      },
      '413 PAYLOAD_TOO_LARGE': (h) => send(h, 'POST', APP_NUMBERS, { body: OVER_1_KIB }),
      '415 UNSUPPORTED_MEDIA_TYPE': (h) =>
        send(h, 'POST', APP_NUMBERS, { body: '<voipNumber/>', headers: XML }),
      '422 NUMBER_NOT_FOUND': (h) =>
        send(h, 'POST', APP_NUMBERS, { body: { voipNumber: '+919999999999' } }),
      '422 IDEMPOTENCY_KEY_MISMATCH': async (h) => {
        const key = { 'idempotency-key': '"one-request"' };
        await link(h, KEYS.linker, key);
        return send(h, 'POST', APP_NUMBERS, {
          headers: key,
          body: { voipNumber: '+918000000002' },
        });
      },
      ...changeScenarios('link', link),
    },
  },
  {
    path: '/apps/{appId}/numbers/{voipNumber}',
    method: 'delete',
    scope: 'numbers:link',
    upstream: 'unlink',
    scenarios: {
      204: (h) => {
        linked(h);
        return unlink(h);
      },
      '400 INVALID_REQUEST': (h) => send(h, 'DELETE', `${APP_NUMBERS}/8000`),
      '404 APP_NOT_FOUND': (h) =>
        send(h, 'DELETE', `/apps/sfv_app_nobody/numbers/${NUMBER_IN_PATH}`),
      '404 NUMBER_NOT_LINKED': (h) => unlink(h),
      '413 PAYLOAD_TOO_LARGE': (h) => send(h, 'DELETE', THE_LINK, { body: OVER_1_KIB }),
      '415 UNSUPPORTED_MEDIA_TYPE': (h) =>
        send(h, 'DELETE', THE_LINK, { body: '<voipNumber/>', headers: XML }),
      '422 IDEMPOTENCY_KEY_MISMATCH': async (h) => {
        const key = { 'idempotency-key': '"one-request"' };
        await unlink(h, KEYS.linker, key); // 404, kept like any outcome
        return send(h, 'DELETE', `/apps/${APP_2}/numbers/${NUMBER_IN_PATH}`, { headers: key });
      },
      ...changeScenarios('unlink', unlink, linked),
    },
  },
];

/** The answers an operation documents: `<status>` for each success, `<status> <CODE>` per problem code. */
function documentedAnswers(responses: Record<string, unknown>): string[] {
  return Object.entries(responses)
    .filter(([status]) => status !== 'default')
    .flatMap(([status, response]) => {
      const { description, content } = documentedResponse.parse(response);
      if (!content?.['application/problem+json']) return [status];
      return [...description.matchAll(/(?:^|; )([A-Z_]+): /g)].map(
        ([, code]) => `${status} ${code}`,
      );
    });
}
const documentedResponse = z.looseObject({
  description: z.string(),
  content: z.record(z.string(), z.unknown()).optional(),
  headers: z.record(z.string(), z.unknown()).optional(),
});

/** The parts of the OpenAPI document the tests below read (the rest passes through untouched). */
const openApiDocument = z.looseObject({
  paths: z.record(
    z.string(),
    z.record(
      z.string(),
      z.looseObject({
        summary: z.string().optional(),
        responses: z.record(z.string(), z.unknown()),
        security: z.unknown().optional(),
        parameters: z.array(z.unknown()).optional(),
        requestBody: z.unknown().optional(),
      }),
    ),
  ),
  components: z.looseObject({ securitySchemes: z.record(z.string(), z.unknown()) }),
});
type OpenApiDocument = z.infer<typeof openApiDocument>;

/** Health statuses, seen on a healthy app and on one whose required Redis is unreachable. */
const healthStatuses: Record<string, { healthy: number; unready: number; documented: string[] }> = {
  '/health/live': { healthy: 200, unready: 200, documented: ['200', '400'] },
  '/health/ready': { healthy: 200, unready: 503, documented: ['200', '400', '503'] },
  '/health/deps': { healthy: 200, unready: 503, documented: ['200', '400', '503'] },
};

describe('the OpenAPI description', () => {
  let h: Harness;
  let document: OpenApiDocument;

  beforeAll(async () => {
    h = await startHarness({ env: { CLIENT_KEYS } });
    document = await readJson(await h.get('/docs-json'), openApiDocument);
  });
  afterAll(async () => {
    await h.close();
  });

  it('is a valid OpenAPI document', async () => {
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
  });

  it('serves Swagger UI at /docs/ (and redirects /docs there), reading the document from /docs-json', async () => {
    const bare = await answer(fetch(`${h.url}/docs`, { redirect: 'manual' }));
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('docs/');

    const res = await get(h, '/docs/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    // The page's own scripts, styles and images may load; API answers allow nothing (numbers e2e).
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    // The page works over plain HTTP too: its relative asset URLs are not sent to https://.
    expect(res.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
    const page = res.body;
    const assets = [...page.matchAll(/(?:src|href)="\.?\/?([^"]+)"/g)].map((m) => m[1]);
    expect(assets).toEqual(
      expect.arrayContaining(['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-initializer.js']),
    );
    // nosniff is on: a script or stylesheet with another type would not load.
    const types: Record<string, string> = { js: 'javascript', css: 'text/css', png: 'image/png' };
    for (const asset of assets) {
      const got = await get(h, `/docs/${asset}`);
      const type = types[asset.split('.').pop() ?? ''];
      expect({
        asset,
        status: got.status,
        typeOk: got.headers.get('content-type')?.includes(type),
        empty: got.body.length === 0,
      }).toEqual({ asset, status: 200, typeOk: true, empty: false });
    }

    const initializer = (await get(h, '/docs/swagger-initializer.js')).body;
    expect(initializer).toContain("url: '../docs-json'");
    expect(initializer).not.toContain('petstore');
  });

  it('serves only the Swagger UI files from swagger-ui-dist under /docs/', async () => {
    for (const path of [
      '/docs/package.json',
      '/docs/swagger-ui-bundle.js.map',
      '/docs/README.md',
      '/docs/../package.json',
    ]) {
      const res = await get(h, path);
      expect({ path, status: res.status, type: res.headers.get('content-type') }).toEqual({
        path,
        status: 404,
        type: 'application/problem+json; charset=utf-8',
      });
    }
  });

  it('describes both client-key schemes, the filters, the 200 body, the 304 and problem answers', () => {
    const { bearer: bearerScheme, apiKey, ...others } = document.components.securitySchemes;
    expect(bearerScheme).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(apiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    expect(others).toEqual({});
    const get = document.paths['/numbers/available'].get;
    expect(get.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    expect(get.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'provider',
          in: 'query',
          required: false,
          schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
        }),
        expect.objectContaining({ name: 'status', in: 'query', required: false }),
      ]),
    );
    expect(get.responses['200']).toMatchObject({
      content: {
        'application/json': { schema: { $ref: '#/components/schemas/AvailableNumbers' } },
      },
    });
    expect(get.responses['304']).toBeDefined();
    for (const status of ['400', '401', '403', '429', '502', '503', '504', 'default']) {
      expect(get.responses[status]).toMatchObject({
        content: {
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        },
      });
    }
  });

  describe.each([
    ['/numbers/available', 'get'],
    ['/numbers/available/refresh', 'post'],
  ])('every status documented for %s %s', (path, method) => {
    const statuses = Object.keys(numbersScenarios).filter((s) => method === 'get' || s !== '304');

    it('has a scenario here', () => {
      const documented = Object.keys(document.paths[path][method].responses).filter(
        (s) => s !== 'default',
      );
      expect(documented.sort()).toEqual(statuses.sort());
    });

    it.each(statuses)('is observed: %s', async (status) => {
      const fresh = await startHarness({ env: { CLIENT_KEYS, SUPERFONE_TIMEOUT_MS } });
      try {
        const res = await numbersScenarios[status](fresh, path, method.toUpperCase());
        expect(res.status).toBe(Number(status));
        if (Number(status) >= 400) {
          expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
          expect(parseJson(res.body, problemBody)).toMatchObject({ status: Number(status) });
        }
      } finally {
        await fresh.close();
      }
    });
  });

  describe.each(APPS_ROUTES.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))(
    '%s',
    (_name, route) => {
      const operation = () => document.paths[route.path][route.method];
      const response = (status: string) => documentedResponse.parse(operation().responses[status]);

      it(`names its scope (${route.scope}) in the summary and takes either client-key header`, () => {
        expect(operation().summary).toContain(`(scope ${route.scope})`);
        expect(operation().security).toEqual([{ bearer: [] }, { apiKey: [] }]);
      });

      it('describes its path parameters, request headers and body', () => {
        const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name);
        const patterns: Record<string, string> = {
          appId: '^[A-Za-z0-9_-]{1,64}$',
          voipNumber: '^\\+[1-9][0-9]{7,14}$',
        };
        expect(operation().parameters).toEqual(
          expect.arrayContaining([
            ...pathParams.map((name) =>
              expect.objectContaining({
                name,
                in: 'path',
                required: true,
                schema: { type: 'string', pattern: patterns[name] },
              }),
            ),
            expect.objectContaining(
              route.method === 'get'
                ? { name: 'If-None-Match', in: 'header', required: false }
                : {
                    name: 'Idempotency-Key',
                    in: 'header',
                    required: false,
                    description: expect.stringContaining('24 h'),
                  },
            ),
          ]),
        );
        if (route.method === 'post') {
          expect(operation().requestBody).toEqual({
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/LinkNumberRequest' } },
            },
          });
        } else {
          expect(operation().requestBody).toBeUndefined();
        }
      });

      it('describes its successful answers, their bodies and headers', () => {
        const schema = (status: string) =>
          (response(status).content?.['application/json'] as { schema?: unknown } | undefined)
            ?.schema;
        const headers = (status: string) => Object.keys(response(status).headers ?? {}).sort();
        if (route.method === 'get') {
          const list = route.path === '/apps' ? 'Apps' : 'AppNumbers';
          expect(schema('200')).toEqual({ $ref: `#/components/schemas/${list}` });
          for (const status of ['200', '304'])
            expect(headers(status)).toEqual(
              expect.arrayContaining(['ETag', 'Cache-Status', 'Age']),
            );
        } else if (route.method === 'post') {
          for (const status of ['201', '200'])
            expect(schema(status)).toEqual({ $ref: '#/components/schemas/AppNumberLinkAnswer' });
          expect(headers('201')).toEqual(
            ['Cache-Control', 'Idempotent-Replayed', 'Location', 'X-Request-Id'].sort(),
          );
          expect(headers('200')).toEqual(
            ['Cache-Control', 'Idempotent-Replayed', 'X-Request-Id'].sort(),
          );
        } else {
          expect(response('204').content).toBeUndefined();
          expect(headers('204')).toEqual(
            ['Cache-Control', 'Idempotent-Replayed', 'X-Request-Id'].sort(),
          );
        }
      });

      it('documents exactly the answers it is seen to give below, and any other as a problem', () => {
        expect(documentedAnswers(operation().responses).sort()).toEqual(
          Object.keys(route.scenarios).sort(),
        );
        expect(operation().responses.default).toMatchObject({
          content: {
            'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
          },
        });
      });

      it.each(Object.keys(route.scenarios))('is observed: %s', async (expected) => {
        const [status, code] = expected.split(' ');
        const fresh = await startHarness({ env: { CLIENT_KEYS, SUPERFONE_TIMEOUT_MS } });
        try {
          const res = await route.scenarios[expected](fresh);
          expect({ status: res.status, body: res.body.slice(0, 300) }).toMatchObject({
            status: Number(status),
          });
          if (code) {
            expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
            expect(parseJson(res.body, problemBody)).toMatchObject({
              status: Number(status),
              code,
            });
            // A header a problem must carry is documented on its status, and sent.
            const header = PROBLEM_HEADERS[code];
            if (header) {
              expect(Object.keys(response(status).headers ?? {})).toContain(header);
              expect(res.headers.get(header)).not.toBeNull();
            }
          }
        } finally {
          await fresh.close();
        }
      });
    },
  );

  it('answers a link with the Location and headers it documents, and its replay with Idempotent-Replayed', async () => {
    const fresh = await startHarness({ env: { CLIENT_KEYS } });
    try {
      const key = { 'idempotency-key': '"openapi-link"' };
      const first = await send(fresh, 'POST', APP_NUMBERS, {
        headers: key,
        body: { voipNumber: NUMBER },
      });
      const again = await send(fresh, 'POST', APP_NUMBERS, {
        headers: key,
        body: { voipNumber: NUMBER },
      });
      for (const [res, replayed] of [
        [first, null],
        [again, 'true'],
      ] as const) {
        expect({
          status: res.status,
          location: res.headers.get('location'),
          cacheControl: res.headers.get('cache-control'),
          replayed: res.headers.get('idempotent-replayed'),
        }).toEqual({
          status: 201,
          location: `/apps/${APP_1}/numbers/%2B918000000001`,
          cacheControl: 'no-store',
          replayed,
        });
        expect(parseJson(res.body, linkAnswer).data).toMatchObject({
          appId: APP_1,
          voipNumber: NUMBER,
        });
      }
      expect(fresh.standIn.callsTo('link')).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it('documents the E.164 pattern the service checks, in the body and in the path (%2B or a literal +)', async () => {
    const schemas = z
      .looseObject({
        components: z.looseObject({
          schemas: z.looseObject({
            LinkNumberRequest: z.looseObject({
              properties: z.looseObject({ voipNumber: z.looseObject({ pattern: z.string() }) }),
            }),
          }),
        }),
      })
      .parse(document);
    const pattern = new RegExp(
      schemas.components.schemas.LinkNumberRequest.properties.voipNumber.pattern,
    );
    const samples = [
      '+918000000001',
      '+12345678',
      '+123456789012345',
      '+1234567',
      '+1234567890123456',
      '+0123456789',
      '918000000001',
      '+91 8000000001',
    ];
    const seen = [];
    for (const voipNumber of samples) {
      const body = await send(h, 'POST', `/apps/${APP_2}/numbers`, { body: { voipNumber } });
      const encoded = await send(
        h,
        'DELETE',
        `/apps/${APP_2}/numbers/${encodeURIComponent(voipNumber)}`,
      );
      const literal = await send(
        h,
        'DELETE',
        `/apps/${APP_2}/numbers/${voipNumber.replace(' ', '%20')}`,
      );
      seen.push({
        voipNumber,
        documented: pattern.test(voipNumber),
        accepted: [body, encoded, literal].map((res) => res.status !== 400),
      });
    }
    expect(seen).toEqual(
      samples.map((voipNumber) => {
        const documented = pattern.test(voipNumber);
        return { voipNumber, documented, accepted: [documented, documented, documented] };
      }),
    );
    expect(seen.filter((s) => s.documented).length).toBe(3);
  });

  it('documents exactly the statuses the health routes are seen to answer', async () => {
    const unready = await startHarness({
      redisUrl: `redis://127.0.0.1:${await freePort()}`,
      env: { READINESS_REQUIRES_REDIS: 'true' },
    });
    try {
      for (const [path, expected] of Object.entries(healthStatuses)) {
        const seen = {
          healthy: (await get(h, path)).status,
          unready: (await get(unready, path)).status,
        };
        const documented = Object.keys(document.paths[path].get.responses).sort();
        expect({ path, seen, documented }).toEqual({
          path,
          seen: { healthy: expected.healthy, unready: expected.unready },
          documented: expected.documented,
        });
        // The 400: a GET with a body, refused before any check runs.
        const refused = parseRaw(
          await rawRequest(
            h.url,
            `GET ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
          ),
        ).status;
        expect(
          [...new Set([String(seen.healthy), String(seen.unready), String(refused)])].sort(),
        ).toEqual(documented);
      }
    } finally {
      await unready.close();
    }
  });
});
