import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { PROBLEMS, type ProblemCode } from '../common/problem-codes';
import { requestState } from '../common/request-state';
import type { RefusedRequests } from '../logging/refused-requests';
import type { Metrics } from './metrics';

/**
 * The refusals a flood is made of, counted rather than logged one line each (see
 * RefusedRequests): 401 (no or unknown client key) and 429 (a client over its rate limit).
 */
const SUMMARIZED: Readonly<Partial<Record<number, string>>> = {
  401: 'UNAUTHENTICATED',
  429: 'RATE_LIMITED',
};

/**
 * One observation per request when its answer is done: a latency sample, and a JSON log line
 * (who asked, what for, how it went), except for refusals after the first of each interval,
 * which RefusedRequests counts into a summary line. Route templates, never raw URLs, so lines and
 * series group cleanly and carry no query values.
 */
export function registerRequestObserver(
  fastify: FastifyInstance,
  logger: Logger,
  metrics: Metrics,
  refused: RefusedRequests,
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
    const summarized = SUMMARIZED[status];
    if (summarized !== undefined && !refused.answered(status, summarized, client?.id)) {
      done();
      return;
    }
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

/**
 * The observer of answers written before routing, straight to the socket (answerClientError,
 * answerUnmetExpectation): no Fastify hook sees them, so no request line or latency sample does
 * either. Each counts in superfone_bff_http_refused_early_total, and in the refused-requests
 * summary like a 401 (a slowloris wave is a flood too): the first of each code per interval is
 * logged in full, the rest are counted. `code` undefined: the connection was only closed.
 */
export function earlyRefusalObserver(
  logger: Logger,
  metrics: Metrics,
  refused: RefusedRequests,
): (code: ProblemCode | undefined) => void {
  return (code) => {
    if (code === undefined) return;
    const { status } = PROBLEMS[code];
    metrics.refusedEarly.inc({ code });
    if (refused.answered(status, code, undefined))
      logger.info({ status, code }, 'request refused before routing');
  };
}
