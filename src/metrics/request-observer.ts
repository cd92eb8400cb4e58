import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { requestState } from '../common/request-state';
import type { Metrics } from './metrics';

/**
 * One observation per request when its answer is done: a JSON log line (who asked, what for, how
 * it went) and a latency sample. Route templates, never raw URLs, so lines and series group
 * cleanly and carry no query values.
 */
export function registerRequestObserver(
  fastify: FastifyInstance,
  logger: Logger,
  metrics: Metrics,
): void {
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    const status = reply.statusCode;
    const route = request.routeOptions.url ?? 'unmatched';
    const { requestId, trace, client, cache } = requestState(request);
    const durationMs = reply.elapsedTime;
    metrics.httpDuration.observe(
      { route, method: request.method, status_code: status },
      durationMs / 1000,
    );
    if (cache) metrics.countCacheResult(cache);
    const line = {
      requestId,
      traceId: trace?.traceId,
      clientId: client?.id,
      method: request.method,
      route,
      status,
      durationMs: Math.round(durationMs * 10) / 10,
      cache,
    };
    if (status >= 500) logger.error(line, 'request');
    else logger.info(line, 'request');
    done();
  });
}
