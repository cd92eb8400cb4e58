import type { TraceContext } from '../tracing/trace-context';
import type { CachedCopy } from './cached-copy';
import type { RefreshLock } from './refresh-lock';
import type { SharedTier } from './shared-tier';

/** How a request was served, for Cache-Status, logs and metrics. */
export type CacheOutcome = 'hit' | 'miss' | 'stale' | 'refresh';

/** One answer of a ResourceCache: the copy to serve and how it was obtained. */
export interface ResourceRead<T> {
  readonly entry: CachedCopy<T>;
  readonly outcome: CacheOutcome;
  /** Set on stale answers given because the last refresh attempt failed (stale-if-error). */
  readonly refreshFailed?: boolean;
  /** Set when this request joined another request's load instead of starting one. */
  readonly coalesced?: boolean;
}

/** What one cached resource is made of. */
export interface ResourceCacheParts<T> {
  /** Names the resource in logs and metric labels (`available-numbers`, `apps`, `app-numbers`). */
  readonly name: string;
  /** Its copy in the shared tier (key and item schema). */
  readonly shared: SharedTier<T>;
  /** Its refresh lock (a key of its own, in the copy's hash slot). */
  readonly lock: RefreshLock;
  /** Asks Superfone for the whole list; throws an UpstreamError when it cannot. */
  readonly fetch: (trace?: TraceContext) => Promise<readonly T[]>;
  /** Told of each copy this process starts serving (the numbers cache publishes its age). */
  readonly installed?: (copy: CachedCopy<T>) => void;
}

/** After a failed refresh, stale hits wait this long before starting another. */
export const REFRESH_RETRY_AFTER_FAILURE_MS = 1000;
/** How often a replica that lost the refresh election looks for the winner's result. */
export const WAIT_POLL_MS = 20;
