import helmet from '@fastify/helmet';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger, PinoLogger } from 'nestjs-pino';
import { AppModule, AppModuleOptions } from './app.module';
import { requestIdFor } from './common/request-id';
import { sendProblem } from './common/send-problem';
import { AppConfig } from './config/app-config';

/** Largest request body accepted; the API takes none, so anything bigger is abuse. */
const BODY_LIMIT_BYTES = 16 * 1024;

/**
 * Builds the application (Fastify adapter, logger, security headers, CORS, one error shape)
 * without listening. main.ts and the e2e tests both start the service through here.
 */
export async function createApp(config: AppConfig, options: AppModuleOptions = {}): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    genReqId: requestIdFor,
    logger: false,
    disableRequestLogging: true,
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options), adapter, {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  const logger = await app.resolve(PinoLogger);

  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  // Errors raised by Fastify before a Nest handler runs (e.g. an unparseable body).
  fastify.setErrorHandler((error, request, reply) => sendProblem(error, request, reply, logger));

  await app.register(helmet, {
    // A JSON API: nothing may be framed, scripted or embedded from its responses.
    contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  });
  if (config.corsOrigins.length > 0) {
    app.enableCors({
      origin: [...config.corsOrigins],
      methods: ['GET', 'POST'],
      allowedHeaders: ['authorization', 'x-api-key', 'if-none-match', 'x-request-id', 'traceparent', 'content-type'],
      exposedHeaders: ['etag', 'age', 'cache-status', 'x-request-id', 'retry-after'],
      maxAge: 600,
    });
  }
  return app;
}

/** Creates the app and listens on config.host:config.port; resolves the base URL it answers on. */
export async function startApp(
  config: AppConfig,
  options: AppModuleOptions = {},
): Promise<{ app: NestFastifyApplication; url: string }> {
  const app = await createApp(config, options);
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return { app, url: `http://${host}:${port}` };
}
