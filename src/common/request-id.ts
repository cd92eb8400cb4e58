import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const REQUEST_ID = Symbol('requestId');

type WithRequestId = IncomingMessage & { [REQUEST_ID]?: string };

/**
 * The request's id: the caller's X-Request-Id when it is a sane token, else a new UUID (an odd
 * caller value is replaced rather than reflected into headers and logs). Memoized on the raw
 * request so Fastify and the request logger, which each ask, agree.
 */
export function requestIdFor(request: IncomingMessage): string {
  const raw = request as WithRequestId;
  if (raw[REQUEST_ID]) return raw[REQUEST_ID];
  const given = request.headers['x-request-id'];
  const id = typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
  raw[REQUEST_ID] = id;
  return id;
}
