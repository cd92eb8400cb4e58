import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import type { CachedNumbers } from '../cache/cached-numbers';
import type { CacheRead } from '../cache/numbers-cache.service';
import { requestState } from '../common/request-state';
import type { NumbersFilter } from './numbers.query';

/** A ready-to-send answer for one copy and one filter: built once per refresh, not per request. */
interface NumbersView {
  readonly body: Buffer;
  readonly etag: string;
}

const CACHE_NAME = 'superfone-bff';
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

function buildView(entry: CachedNumbers, filter: NumbersFilter): NumbersView {
  const data = entry.numbers.filter(
    (n) =>
      (filter.provider === undefined || n.provider.toLowerCase() === filter.provider) &&
      (filter.status === undefined || n.status.toLowerCase() === filter.status),
  );
  const body = Buffer.from(
    JSON.stringify({ data, meta: { count: data.length, fetchedAt: entry.fetchedAtIso } }),
  );
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, etag };
}

/** RFC 9211 Cache-Status for how this answer was produced. */
function cacheStatus(read: CacheRead, now: number): string {
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
 * Sends the list with its caching headers, or a 304 when the caller already holds this version.
 */
export function sendNumbers(
  request: FastifyRequest,
  reply: FastifyReply,
  read: CacheRead,
  filter: NumbersFilter,
): void {
  const now = Date.now();
  const { entry } = read;
  const view = entry.view(filter.key, () => buildView(entry, filter));
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
