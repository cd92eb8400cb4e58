import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { traceFor } from '../tracing/trace-context';
import { InvalidRequestError } from './app.error';
import { DOCS_PATH } from './docs-path';
import { PROBLEMS, ProblemCode, problemType } from './problem-codes';
import { requestState } from './request-state';
import { SECURITY_HEADERS, SecurityHeaders } from './security-headers';

/** Swagger UI's pages (/docs, /docs/…) get the docs security headers; /docs-json is API data. */
const DOCS_PAGE = `/${DOCS_PATH}`;
const DOCS_PAGES = `/${DOCS_PATH}/`;

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
    const { url } = request;
    void reply
      .headers(url === DOCS_PAGE || url.startsWith(DOCS_PAGES) ? security.docs : security.api)
      .header('x-request-id', state.requestId);
    state.trace = traceFor(request.headers.traceparent);
    const { method, headers } = request;
    // Node's own check (requireHostHeader) would answer a bare 400; this one speaks problem+json.
    if (headers.host === undefined && request.raw.httpVersionMinor === 1) {
      done(new InvalidRequestError('HTTP/1.1 requests must carry a Host header.'));
      return;
    }
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
 * malformed request line). They still get a problem, written straight to the socket, with the
 * headers every answer carries.
 *
 * A client too slow with its request (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS) lands here
 * too, as ERR_HTTP_REQUEST_TIMEOUT: a 408, then the socket is closed, since the request will never
 * be read. A connection that sent nothing at all is closed without an answer: there is no request
 * to answer, and a client that sends its first request just as the 408 arrives would take that 408
 * for the answer to it.
 */
export function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Socket,
): ProblemCode | undefined {
  if (!socket.writable) {
    socket.destroy();
    return undefined;
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return answerRequestTimeout(socket);
  const code: ProblemCode =
    error.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE' : 'INVALID_REQUEST';
  socket.end(
    rawProblem(
      code,
      code === 'HEADERS_TOO_LARGE'
        ? 'The request line and headers exceed 16 KiB.'
        : 'The request could not be parsed.',
    ),
  );
  return code;
}

/**
 * A 408 for a request that did not arrive in time (or a bare close if none began), then the close.
 * Returns REQUEST_TIMEOUT when it answered, undefined when it only closed.
 */
export function answerRequestTimeout(socket: Socket): 'REQUEST_TIMEOUT' | undefined {
  const answered = socket.bytesRead > 0 && socket.writable;
  if (answered) socket.end(rawProblem('REQUEST_TIMEOUT', 'The request did not arrive in time.'));
  // Closed once the answer is written; the client's half of the connection is not waited for.
  socket.destroySoon();
  return answered ? 'REQUEST_TIMEOUT' : undefined;
}

/**
 * A request with an Expect other than 100-continue (Node's 'checkExpectation' event): 417, as a
 * problem, instead of Node's bare answer.
 */
export function answerUnmetExpectation(
  _request: IncomingMessage,
  response: ServerResponse,
): 'EXPECTATION_FAILED' {
  const { status, headers, body } = problemParts(
    'EXPECTATION_FAILED',
    'Only "Expect: 100-continue" is understood.',
  );
  response.writeHead(status, headers).end(body);
  return 'EXPECTATION_FAILED';
}

/** A problem answer's parts, with the headers every answer carries; it closes the connection. */
function problemParts(
  code: ProblemCode,
  detail: string,
): { status: number; title: string; headers: Record<string, string>; body: string } {
  const { status, title } = PROBLEMS[code];
  const requestId = randomUUID();
  const body = JSON.stringify({
    type: problemType(code),
    title,
    status,
    detail,
    instance: '/',
    code,
    requestId,
  });
  const headers = {
    ...SECURITY_HEADERS.api,
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    connection: 'close',
  };
  return { status, title, headers, body };
}

/** A whole HTTP/1.1 problem answer, for a socket Node's parser gave up on. */
function rawProblem(code: ProblemCode, detail: string): string {
  const { status, title, headers, body } = problemParts(code, detail);
  const lines = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return `HTTP/1.1 ${status} ${title}\r\n${lines}\r\n${body}`;
}
