import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { PROBLEM_CONTENT_TYPE, problemJson, toProblem } from './problem';
import { requestState } from './request-state';

/**
 * Answers with the problem for `error`. Shared by the Nest exception filter and Fastify's own
 * error handler (errors raised before routing, e.g. body parsing), so both speak one shape.
 */
export function sendProblem(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Logger,
): void {
  const path = request.url.split('?', 1)[0];
  const { requestId, trace } = requestState(request);
  const problem = toProblem(error, requestId, path, trace?.traceId);
  if (problem.unexpected) {
    logger.error({ err: error, requestId }, 'unexpected error');
  }
  if (reply.sent) return;
  void reply
    .code(problem.body.status)
    .headers(problem.headers)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .header('cache-control', 'no-store')
    .send(problemJson(problem));
}
