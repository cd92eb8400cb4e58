import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CachedNumbers, CacheRead } from '../cache/numbers-cache.service';
import { listBody, sendCachedView } from '../cache/send-cached';
import type { NumbersFilter } from './numbers.query';

function numbersBody(entry: CachedNumbers, filter: NumbersFilter): Buffer {
  const data = entry.items.filter(
    (n) =>
      (filter.provider === undefined || n.provider.toLowerCase() === filter.provider) &&
      (filter.status === undefined || n.status.toLowerCase() === filter.status),
  );
  return listBody(data, entry);
}

/**
 * Sends the list with its caching headers, or a 304 when the caller already holds this version.
 * Each filter combination is one view of the copy, built once per refresh.
 */
export function sendNumbers(
  request: FastifyRequest,
  reply: FastifyReply,
  read: CacheRead,
  filter: NumbersFilter,
): void {
  sendCachedView(request, reply, read, filter.key, (entry) => numbersBody(entry, filter));
}
