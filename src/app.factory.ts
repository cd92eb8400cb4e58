import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module';
import {
  answerClientError,
  answerUnmetExpectation,
  registerRequestHygiene,
} from './common/http-hygiene';
import { registerCoalescedWrites } from './common/coalesced-writes';
import type { ProblemCode } from './common/problem-codes';
import { requestIdFor } from './common/request-state';
import { SECURITY_HEADERS } from './common/security-headers';
import { sendProblem } from './common/send-problem';
import { deadlineOptions, trackConnections } from './common/slow-clients';
import { AppConfig } from './config/app-config';
import { AppLogger, NestPinoLogger } from './logging/app-logger';
import { RefusedRequests } from './logging/refused-requests';
import { observeConnections } from './metrics/connection-observer';
import { Metrics } from './metrics/metrics';
import { earlyRefusalObserver, registerRequestObserver } from './metrics/request-observer';
import { setupOpenApi } from './openapi/openapi';

export interface AppOptions {
  /** Where log lines go (stdout when absent); tests capture them here. */
  readonly logDestination?: DestinationStream;
}

/**
 * Largest request body accepted (413 beyond it). The only body the API takes is a link request,
 * `{"voipNumber":"+…"}`, some 40 bytes: anything near 1 KiB is not one.
 */
const BODY_LIMIT_BYTES = 1024;

/**
 * Builds the application (Fastify adapter, logger, security headers, CORS, one error shape)
 * without listening. main.ts and the e2e tests both start the service through here.
 */
export async function createApp(
  config: AppConfig,
  options: AppOptions = {},
): Promise<NestFastifyApplication> {
  const logger = new AppLogger(config, options.logDestination);
  const httpLogger = logger.child('http');
  // Header, body and keep-alive deadlines; a request past one is answered by answerClientError.
  const deadlines = deadlineOptions(config.http);
  // Answers written before routing are observed once the app (its metrics, its log summary) exists;
  // the server does not listen before then.
  let refusedEarly: (code: ProblemCode | undefined) => void = () => undefined;
  const adapter = new FastifyAdapter({
    genReqId: requestIdFor,
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
    clientErrorHandler: (error, socket) => {
      refusedEarly(answerClientError(error, socket));
    },
    requestTimeout: deadlines.requestTimeout,
    keepAliveTimeout: deadlines.keepAliveTimeout,
    // A request without Host is refused by the hygiene hook, as a problem (Node's would be bare).
    http: { ...deadlines.http, requireHostHeader: false },
    // Errors Fastify answers itself before routing (a malformed URL) speak problem+json too.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      sendProblem(error, request, reply, httpLogger);
    },
  });
  const nestOptions: Pick<NestApplicationOptions, 'logger' | 'abortOnError'> = {
    logger: new NestPinoLogger(logger.pino),
    // Throw boot errors to the caller (main.ts reports them and exits 1) instead of exiting here.
    abortOnError: false,
  };
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, logger),
    adapter,
    nestOptions,
  );

  const fastify = app.getHttpAdapter().getInstance();
  const server = app.getHttpServer();
  registerRequestHygiene(fastify, SECURITY_HEADERS);
  registerCoalescedWrites(fastify, httpLogger);
  server.on('checkExpectation', (request, response) => {
    refusedEarly(answerUnmetExpectation(request, response));
  });
  registerRequestObserver(fastify, httpLogger, app.get(Metrics), app.get(RefusedRequests));
  refusedEarly = earlyRefusalObserver(httpLogger, app.get(Metrics), app.get(RefusedRequests));
  // Over the cap, Node closes a new connection at once, before reading a byte of it.
  server.maxConnections = config.http.maxConnections;
  observeConnections(server, app.get(Metrics), httpLogger, config.http.maxConnections);
  trackConnections(server);

  setupOpenApi(app);
  if (config.corsOrigins.length > 0) {
    app.enableCors({
      origin: [...config.corsOrigins],
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: [
        'authorization',
        'x-api-key',
        'if-none-match',
        'x-request-id',
        'traceparent',
        'content-type',
        'idempotency-key',
      ],
      exposedHeaders: [
        'etag',
        'age',
        'cache-status',
        'x-request-id',
        'retry-after',
        'location',
        'idempotent-replayed',
      ],
      maxAge: 600,
    });
  }
  return app;
}

/** Creates the app and listens on config.host:config.port; resolves the base URL it answers on. */
export async function startApp(
  config: AppConfig,
  options: AppOptions = {},
): Promise<{ app: NestFastifyApplication; url: string }> {
  const app = await createApp(config, options);
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return { app, url: `http://${host}:${port}` };
}
