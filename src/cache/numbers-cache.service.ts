import { Injectable } from '@nestjs/common';
import type { AvailableNumber } from '../common/available-number';
import { Metrics } from '../metrics/metrics';
import { SuperfoneClient } from '../superfone/superfone.client';
import type { CachedCopy } from './cached-copy';
import { RefreshLock } from './refresh-lock';
import { ResourceCache } from './resource-cache';
import type { ResourceRead } from './resource-read';
import { SharedCopies } from './shared-copies';

export { type CacheOutcome, REFRESH_RETRY_AFTER_FAILURE_MS, WAIT_POLL_MS } from './resource-read';

/** One copy of the available-numbers list. */
export type CachedNumbers = CachedCopy<AvailableNumber>;
/** One answer of the available-numbers cache. */
export type CacheRead = ResourceRead<AvailableNumber>;

/**
 * The available-numbers list: the ResourceCache engine under the list's original Redis keys,
 * publishing the age of its copy (superfone_bff_cached_copy_fetched_timestamp_seconds, which the
 * alerts read as this list's age). A subclass, not a wrapper, so a hit runs the engine's read()
 * directly: no extra call, await or allocation per request.
 */
@Injectable()
export class NumbersCacheService extends ResourceCache<AvailableNumber> {
  constructor(
    shared: SharedCopies,
    upstream: SuperfoneClient,
    lock: RefreshLock,
    metrics: Metrics,
  ) {
    super({
      name: 'available-numbers',
      shared,
      lock,
      fetch: (trace) => upstream.fetchAvailableNumbers(trace),
      installed: (copy) => {
        metrics.cachedCopyFetchedAt.set(copy.fetchedAt / 1000);
      },
    });
  }
}
