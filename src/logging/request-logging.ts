import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AuthenticatedRequest } from '../auth/client-key.guard';

/** Set by handlers that know how the cache answered, for the request's log line. */
export const CACHE_OUTCOME = Symbol('cacheOutcome');
export type WithCacheOutcome = FastifyReply & { [CACHE_OUTCOME]?: string };

/**
 * One JSON line per request, written when the answer is done: who asked, what for, how it went.
 * Route templates, never raw URLs, so lines group cleanly and carry no query values.
 */
export function registerRequestLogging(fastify: FastifyInstance, logger: Logger): void {
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done) => {
    const status = reply.statusCode;
    const line = {
      requestId: request.id,
      clientId: (request as AuthenticatedRequest).client?.id,
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
      cache: (reply as WithCacheOutcome)[CACHE_OUTCOME],
    };
    if (status >= 500) logger.error(line, 'request');
    else logger.info(line, 'request');
    done();
  });
}
