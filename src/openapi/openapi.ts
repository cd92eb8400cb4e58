import type { OpenAPIObject } from '@nestjs/swagger';

type OperationObject = NonNullable<OpenAPIObject['paths'][string]['get']>;
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { dirname } from 'node:path';
import { DOCS_PATH } from '../common/docs-path';
import { openApiSchemas } from './openapi.schemas';
import { loadSwagger } from './swagger-decorators';

/** swagger-ui-dist's own page and assets; its initializer is replaced by ours (below). */
const UI_FILES = new Set([
  'index.html',
  'index.css',
  'swagger-ui.css',
  'swagger-ui-bundle.js',
  'swagger-ui-standalone-preset.js',
  'favicon-16x16.png',
  'favicon-32x32.png',
]);

/**
 * swagger-ui-dist's initializer pointed at our document. The URL is relative to /docs/, so the
 * page works behind a proxy that serves the API under a path prefix.
 */
const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: '../${DOCS_PATH}-json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
  });
};
`;

/**
 * Serves the OpenAPI document at /docs-json and Swagger UI at /docs/ (/docs redirects there, so
 * the page's relative asset URLs resolve). What serves them is loaded on first use: the document
 * is built on its first request, which is also when @nestjs/swagger is loaded (see
 * swagger-decorators.ts), and swagger-ui-dist's files go out through @fastify/send, loaded with
 * the first of them. Together that keeps about 8 MiB out of a replica that never serves its docs.
 */
export function setupOpenApi(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  let documentJson: Promise<string> | undefined;
  const json = (): Promise<string> => {
    documentJson ??= buildDocument(app).then(
      (document) => JSON.stringify(document),
      (error: unknown) => {
        documentJson = undefined; // a failed build is retried on the next request
        throw error;
      },
    );
    return documentJson;
  };
  const assets = swaggerUiAssetsPath();

  fastify.get(`/${DOCS_PATH}-json`, async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(await json()),
  );
  fastify.get(`/${DOCS_PATH}`, (_request, reply) => reply.redirect(`${DOCS_PATH}/`, 301));
  fastify.get(`/${DOCS_PATH}/swagger-initializer.js`, (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(INITIALIZER),
  );
  fastify.get(`/${DOCS_PATH}/*`, async (request, reply) => {
    const file = (request.params as { '*': string })['*'] || 'index.html';
    if (!UI_FILES.has(file)) {
      reply.callNotFound();
      return;
    }
    const { default: send } = await import('@fastify/send');
    const { statusCode, headers, stream } = await send(request.raw, `/${file}`, { root: assets });
    return reply.code(statusCode).headers(headers).send(stream);
  });
}

/** The OpenAPI document the service serves at /docs-json (also written to openapi.json by `npm run openapi`). */
export async function buildDocument(app: NestFastifyApplication): Promise<OpenAPIObject> {
  const { DocumentBuilder, SwaggerModule } = await loadSwagger();
  const config = new DocumentBuilder()
    .setTitle('superfone-bff')
    .setDescription(
      'The telephone numbers our organization owns that no SFVoPI app uses yet, from a cache in front of Superfone. ' +
        'Every error is application/problem+json (RFC 9457).',
    )
    .setVersion('1')
    // Relative: the API is where the document was fetched from (behind any proxy prefix).
    .addServer('/', 'This service')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'Client key: Authorization: Bearer <key>' },
      'bearer',
    )
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-API-Key',
        description: 'Client key: X-API-Key: <key>',
      },
      'apiKey',
    )
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.info.license = { name: 'Proprietary: for the company’s own apps' };
  for (const path of Object.values(document.paths)) {
    for (const method of ['get', 'post', 'delete'] as const) {
      // An operation without a security requirement is public (health): say so, `[]`, rather
      // than leave a client generator to guess.
      const operation = path[method];
      if (operation && !operation.security) operation.security = [];
    }
    if (path.get) path.head = headOf(path.get);
  }
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ...openApiSchemas() },
  };
  return document;
}

/**
 * Fastify answers HEAD on every GET route (the GET's status and headers, no body); the document
 * says so: the GET's operation with every body removed.
 */
function headOf(get: OperationObject): OperationObject {
  const responses: OperationObject['responses'] = {};
  for (const [status, response] of Object.entries(get.responses)) {
    if (!response || '$ref' in response) {
      responses[status] = response;
      continue;
    }
    const bodiless = { ...response, description: `${response.description} No body (HEAD).` };
    delete bodiless.content;
    responses[status] = bodiless;
  }
  return {
    ...get,
    operationId: `${get.operationId ?? 'get'}_head`,
    summary: `${get.summary ?? ''} (headers only)`.trim(),
    responses,
  };
}

/** swagger-ui-dist's folder, without loading its 1.5 MB bundle into this process (its index.js would). */
function swaggerUiAssetsPath(): string {
  return dirname(require.resolve('swagger-ui-dist/absolute-path.js'));
}
