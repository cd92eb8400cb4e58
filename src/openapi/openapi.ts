import fastifyStatic from '@fastify/static';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { OPENAPI_SCHEMAS } from './openapi.schemas';
import { loadSwagger } from './swagger-decorators';

/** Where Swagger UI (`/docs/`) and the OpenAPI document (`/docs-json`) are served. */
export const DOCS_PATH = 'docs';

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
 * the page's relative asset URLs resolve). The document is built on its first request, which is
 * also when @nestjs/swagger is first loaded (see swagger-decorators.ts); the UI page itself is
 * swagger-ui-dist's static files and needs none of it.
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

  fastify.get(`/${DOCS_PATH}-json`, async (_request, reply) => reply.type('application/json; charset=utf-8').send(await json()));
  fastify.get(`/${DOCS_PATH}`, (_request, reply) => reply.redirect(`${DOCS_PATH}/`, 301));
  fastify.get(`/${DOCS_PATH}/swagger-initializer.js`, (_request, reply) => reply.type('text/javascript; charset=utf-8').send(INITIALIZER));
  void fastify.register(fastifyStatic, {
    root: swaggerUiAssetsPath(),
    prefix: `/${DOCS_PATH}/`,
    decorateReply: false,
    allowedPath: (pathName) => pathName === '/' || UI_FILES.has(pathName.slice(1)),
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
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'Client key: Authorization: Bearer <key>' }, 'bearer')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'Client key: X-API-Key: <key>' }, 'apiKey')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.components = { ...document.components, schemas: { ...document.components?.schemas, ...OPENAPI_SCHEMAS } };
  return document;
}

/** swagger-ui-dist's folder, without loading its 1.5 MB bundle into this process (its index.js would). */
function swaggerUiAssetsPath(): string {
  const absolutePath = require('swagger-ui-dist/absolute-path.js') as () => string;
  return absolutePath();
}
