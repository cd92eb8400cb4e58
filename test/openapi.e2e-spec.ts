import SwaggerParser from '@apidevtools/swagger-parser';
import { expect } from '@jest/globals';
import { z } from 'zod';
import type { StandInBehaviour } from '../tools/superfone-stand-in/superfone-stand-in';
import { freePort } from '../tools/free-port';
import { CLIENTS, clientKeyEntry, clientKeysJson, KEYS } from './support/client-keys.fixture';
import { parseJson, problemBody, readJson } from './support/bodies';
import { bearer, Harness, startHarness } from './support/test-app';

const LIMITED = 'sfb_openapi-limited-key-0000000000000000005';
const CLIENT_KEYS = clientKeysJson([
  CLIENTS.reader,
  CLIENTS.refresher,
  CLIENTS.refreshOnly,
  clientKeyEntry('limited-app', LIMITED, ['numbers:read', 'numbers:refresh'], 1),
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

const call = (h: Harness, path: string, method: string, headers: Record<string, string> = {}) =>
  answer(fetch(`${h.url}${path}`, { method, headers }));
const get = (h: Harness, path: string) => answer(h.get(path));

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

/** The parts of the OpenAPI document the tests below read (the rest passes through untouched). */
const openApiDocument = z.looseObject({
  paths: z.record(
    z.string(),
    z.record(
      z.string(),
      z.looseObject({
        responses: z.record(z.string(), z.unknown()),
        security: z.unknown().optional(),
        parameters: z.array(z.unknown()).optional(),
      }),
    ),
  ),
  components: z.looseObject({ securitySchemes: z.record(z.string(), z.unknown()) }),
});
type OpenApiDocument = z.infer<typeof openApiDocument>;

/** Health statuses, seen on a healthy app and on one whose required Redis is unreachable. */
const healthStatuses: Record<string, { healthy: number; unready: number; documented: string[] }> = {
  '/health/live': { healthy: 200, unready: 200, documented: ['200'] },
  '/health/ready': { healthy: 200, unready: 503, documented: ['200', '503'] },
  '/health/deps': { healthy: 200, unready: 503, documented: ['200', '503'] },
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
      const fresh = await startHarness({ env: { CLIENT_KEYS, SUPERFONE_TIMEOUT_MS: '300' } });
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
        expect([...new Set([String(seen.healthy), String(seen.unready)])].sort()).toEqual(
          documented,
        );
      }
    } finally {
      await unready.close();
    }
  });
});
