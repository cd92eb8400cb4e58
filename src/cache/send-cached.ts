import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { requestState } from '../common/request-state';
import type { CachedCopy, CachedView } from './cached-copy';
import type { ResourceRead } from './resource-read';

const CACHE_NAME = 'superfone-bff';
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** The list body of the SPEC's cached reads: `{"data":[…],"meta":{"count","fetchedAt"}}`. */
export function listBody(data: readonly unknown[], copy: CachedCopy<unknown>): Buffer {
  return Buffer.from(
    JSON.stringify({ data, meta: { count: data.length, fetchedAt: copy.fetchedAtIso } }),
  );
}

function viewOf(body: Buffer): CachedView {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, etag };
}

/** RFC 9211 Cache-Status for how this answer was produced. */
function cacheStatus(read: ResourceRead<unknown>, now: number): string {
  const ttl = Math.floor((read.entry.freshUntil - now) / 1000);
  switch (read.outcome) {
    case 'hit':
      return `${CACHE_NAME}; hit; ttl=${Math.max(ttl, 0)}`;
    case 'miss':
      return `${CACHE_NAME}; fwd=miss; stored`;
    case 'refresh':
      return `${CACHE_NAME}; fwd=request; stored`;
    case 'stale':
      return `${CACHE_NAME}; hit; ttl=${Math.min(ttl, -1)}; detail=${read.refreshFailed ? 'stale-if-error' : 'stale'}`;
  }
}

/** True when If-None-Match names this ETag (weak comparison, RFC 9110 §13.1.2) or is `*`. */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}

/**
 * Sends a cached read with its caching headers (Cache-Control, Age, ETag, Cache-Status), or a
 * 304 when the caller already holds this version. The body is built by `buildBody` once per copy
 * and `viewKey` (one key per filter combination), then kept on the copy with its ETag, so a hit
 * serializes and hashes nothing. Also records how the cache answered, for the request's log
 * line and the cache-results metric.
 */
export function sendCachedView<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  read: ResourceRead<T>,
  viewKey: string,
  buildBody: (copy: CachedCopy<T>) => Buffer,
): void {
  const now = Date.now();
  const { entry } = read;
  const view = entry.view(viewKey) ?? entry.keepView(viewKey, viewOf(buildBody(entry)));
  requestState(request).cache = read.coalesced ? 'coalesced' : read.outcome;
  reply
    .header(
      'cache-control',
      `private, max-age=${Math.max(Math.floor((entry.freshUntil - now) / 1000), 0)}`,
    )
    .header('age', String(Math.max(Math.floor((now - entry.fetchedAt) / 1000), 0)))
    .header('etag', view.etag)
    .header('cache-status', cacheStatus(read, now));
  // A refresh always produced a new copy for this caller: it gets the body, never a 304.
  if (read.outcome !== 'refresh' && matches(request.headers['if-none-match'], view.etag)) {
    void reply.code(304).send();
    return;
  }
  void reply.code(200).header('content-type', JSON_CONTENT_TYPE).send(view.body);
}
