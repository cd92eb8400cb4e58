import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { OPENAPI_SCHEMAS } from './openapi.schemas';

/** Where Swagger UI (`/docs`) and the OpenAPI document (`/docs-json`) are served. */
export const DOCS_PATH = 'docs';

/** Serves the API description at /docs-json and Swagger UI at /docs. */
export function setupOpenApi(app: NestFastifyApplication): void {
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
  SwaggerModule.setup(DOCS_PATH, app, document, { jsonDocumentUrl: `${DOCS_PATH}-json`, raw: ['json'] });
}
