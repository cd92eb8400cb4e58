import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { traceFor } from '../tracing/trace-context';
import { InvalidRequestError } from './app.error';
import { DOCS_PATH } from './docs-path';
import { PROBLEMS, ProblemCode, problemType } from './problem-codes';
import { requestState } from './request-state';
import { SecurityHeaders } from './security-headers';

/** Swagger UI and its document (/docs, /docs/…, /docs-json) get the docs security headers. */
const DOCS_PREFIX = `/${DOCS_PATH}`;

/**
 * Per-request hygiene that runs before routing: every answer carries the security headers and
 * X-Request-Id, the request joins or starts a trace, and a GET or HEAD with a body is refused
 * (Fastify would accept it).
 */
export function registerRequestHygiene(
  fastify: FastifyInstance,
  security: { api: SecurityHeaders; docs: SecurityHeaders },
): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const state = requestState(request);
    void reply
      .headers(request.url.startsWith(DOCS_PREFIX) ? security.docs : security.api)
      .header('x-request-id', state.requestId);
    state.trace = traceFor(request.headers.traceparent);
    const { method, headers } = request;
    if (
      (method === 'GET' || method === 'HEAD') &&
      (headers['transfer-encoding'] || Number(headers['content-length']) > 0)
    ) {
      done(new InvalidRequestError(`${method} requests take no body.`));
      return;
    }
    done();
  });
}

/**
 * Node's HTTP parser rejects some requests before Fastify sees them (headers over 16 KiB, a
 * malformed request line). They still get a problem, written straight to the socket.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const code: ProblemCode =
    error.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE' : 'INVALID_REQUEST';
  const { status, title } = PROBLEMS[code];
  const requestId = randomUUID();
  const body = JSON.stringify({
    type: problemType(code),
    title,
    status,
    detail:
      code === 'HEADERS_TOO_LARGE'
        ? 'The request line and headers exceed 16 KiB.'
        : 'The request could not be parsed.',
    instance: '/',
    code,
    requestId,
  });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
  );
}
