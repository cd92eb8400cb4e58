import type { OpenAPIObject } from '@nestjs/swagger';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { dirname } from 'node:path';
import { DOCS_PATH } from '../common/docs-path';
import { OPENAPI_SCHEMAS } from './openapi.schemas';
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

async function buildDocument(app: NestFastifyApplication): Promise<OpenAPIObject> {
  const { DocumentBuilder, SwaggerModule } = await loadSwagger();
  const config = new DocumentBuilder()
    .setTitle('superfone-bff')
    .setDescription(
      'The telephone numbers our organization owns that no SFVoPI app uses yet, from a cache in front of Superfone. ' +
        'Every error is application/problem+json (RFC 9457).',
    )
    .setVersion('1')
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
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ...OPENAPI_SCHEMAS },
  };
  return document;
}

/** swagger-ui-dist's folder, without loading its 1.5 MB bundle into this process (its index.js would). */
function swaggerUiAssetsPath(): string {
  return dirname(require.resolve('swagger-ui-dist/absolute-path.js'));
}
