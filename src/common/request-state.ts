import type { FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ClientKey } from '../config/client-keys';
import type { TraceContext } from '../tracing/trace-context';

/** How the cache produced a numbers answer (coalesced: joined another request's upstream call). */
export type CacheResult = 'hit' | 'miss' | 'stale' | 'refresh' | 'coalesced';

/**
 * What the service learns about one request on its way through, for the answer, the request's log
 * line and its metrics. One object per request, created with the request's id (Fastify's genReqId)
 * and kept on the raw request; every reader and writer goes through `requestState`.
 */
export interface RequestState {
  /**
   * The request's id (Fastify's `request.id`, the X-Request-Id answered): the caller's when it is
   * a sane token, else a new UUID (an odd caller value is replaced, not reflected into headers and logs).
   */
  readonly requestId: string;
  /** The W3C trace it joined or started; set before routing, so absent only on requests refused earlier. */
  trace: TraceContext | undefined;
  /** The client app whose key it presented; set by ClientKeyGuard on routes that need a key. */
  client: ClientKey | undefined;
  /** How the cache produced the answer; set by the routes that answer from the cache. */
  cache: CacheResult | undefined;
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const STATE = Symbol('requestState');

type WithState = IncomingMessage & { [STATE]?: RequestState };

/**
 * Fastify's genReqId. Creates the request's state on first use, so Fastify, which may ask more
 * than once for one request (its 404 handling), always gets the same id.
 */
export function requestIdFor(raw: IncomingMessage): string {
  return stateOf(raw).requestId;
}

/** The request's state (see RequestState). */
export function requestState(request: FastifyRequest): RequestState {
  return stateOf(request.raw);
}

function stateOf(raw: IncomingMessage): RequestState {
  return ((raw as WithState)[STATE] ??= newState(raw));
}

function newState(raw: IncomingMessage): RequestState {
  const given = raw.headers['x-request-id'];
  return {
    requestId: typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID(),
    trace: undefined,
    client: undefined,
    cache: undefined,
  };
}
