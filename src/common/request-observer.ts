import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AuthenticatedRequest } from '../auth/client-key.guard';
import type { CacheResult, Metrics } from '../metrics/metrics';
import type { TraceContext } from '../tracing/trace-context';

/** Set by handlers that know how the cache answered, for the request's log line and metrics. */
export const CACHE_RESULT = Symbol('cacheResult');
export type WithCacheResult = FastifyReply & { [CACHE_RESULT]?: CacheResult };

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
    const cache = (reply as WithCacheResult)[CACHE_RESULT];
    const durationMs = reply.elapsedTime;
    metrics.httpDuration.observe(
      { route, method: request.method, status_code: status },
      durationMs / 1000,
    );
    if (cache) metrics.countCacheResult(cache);
    const line = {
      requestId: request.id,
      // Null when Fastify refused the request before onRequest hooks ran (frameworkErrors: a malformed URL).
      traceId: (request.trace as TraceContext | null)?.traceId,
      clientId: (request as AuthenticatedRequest).client?.id,
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
