import { Injectable } from '@nestjs/common';
import { Metrics } from '../metrics/metrics';
import type { TraceContext } from '../tracing/trace-context';
import { SuperfoneClient } from '../superfone/superfone.client';
import { CachedNumbers } from './cached-numbers';
import { LockAttempt, RefreshLock } from './refresh-lock';
import { SharedCopies } from './shared-copies';

/** How a request was served, for Cache-Status, logs and metrics. */
export type CacheOutcome = 'hit' | 'miss' | 'stale' | 'refresh';

export interface CacheRead {
  readonly entry: CachedNumbers;
  readonly outcome: CacheOutcome;
  /** Set on stale answers given because the last refresh attempt failed (stale-if-error). */
  readonly refreshFailed?: boolean;
  /** Set when this request joined another request's load instead of starting one. */
  readonly coalesced?: boolean;
}

type LoadReason = 'miss' | 'background' | 'forced';
/** Where a load's copy came from: already shared, fetched here, or fetched by the replica holding the lock. */
type LoadSource = 'shared' | 'upstream' | 'winner' | 'local';

interface Loaded {
  readonly entry: CachedNumbers;
  readonly source: LoadSource;
}

/** One load in flight in this process; every caller in the meantime joins it. */
interface Load {
  promise: Promise<Loaded>;
  /** Set by a forced refresh (also one that arrived while this load was still deciding): go to Superfone. */
  upstreamWanted: boolean;
}

/** After a failed refresh, stale hits wait this long before starting another. */
export const REFRESH_RETRY_AFTER_FAILURE_MS = 1000;
/** How often a replica that lost the refresh election looks for the winner's result. */
export const WAIT_POLL_MS = 20;

/**
 * Owns the freshness rules for the available-numbers list:
 * - the in-process tier (the last copy, with its pre-serialized views) in front of the shared
 *   tier (SharedCopies: cache-manager over Redis, or its in-memory store without Redis);
 * - fresh for CACHE_TTL_SECONDS, then stale for CACHE_STALE_SECONDS: a stale hit answers at once
 *   and starts one background refresh (stale-while-revalidate), at most one a second after failures;
 * - one load at a time per process (misses, background and forced refreshes all join it);
 *   replicas elect one refresher through RefreshLock and the others wait for its copy.
 * Each load owns its lock attempt and gives it back in one place (`finish`).
 */
@Injectable()
export class NumbersCacheService {
  private local: CachedNumbers | undefined;
  private loading: Load | undefined;
  private refreshRetryAt = 0;
  private lastRefreshFailed = false;

  constructor(
    private readonly shared: SharedCopies,
    private readonly upstream: SuperfoneClient,
    private readonly lock: RefreshLock,
    private readonly metrics: Metrics,
  ) {}

  /**
   * The list as the cache rules say to serve it now. Throws an UpstreamError when nothing usable
   * exists. `trace` is the asking request's; an upstream call it starts carries it.
   */
  async read(trace?: TraceContext): Promise<CacheRead> {
    const now = Date.now();
    const local = this.local;
    if (local?.isFresh(now)) return { entry: local, outcome: 'hit' };
    if (local?.isUsable(now)) return this.serveStale(local, trace);
    const coalesced = this.loading !== undefined;
    const { entry, source } = await this.load('miss', trace).promise;
    if (source === 'shared' || source === 'local') {
      if (entry.isFresh(Date.now())) return { entry, outcome: 'hit', coalesced };
      return { ...this.serveStale(entry, trace), coalesced };
    }
    return { entry, outcome: 'miss', coalesced };
  }

  /**
   * POST /numbers/available/refresh: fetch from Superfone now. A load already running is told to
   * go to Superfone if it has not decided yet, and joined; a load that settled for the shared
   * copy is followed by a forced one. A running load's upstream failure is this request's too.
   */
  async forceRefresh(trace?: TraceContext): Promise<CacheRead> {
    const running = this.loading;
    if (running) {
      running.upstreamWanted = true;
      const joined = await running.promise;
      if (joined.source === 'upstream' || joined.source === 'winner')
        return { entry: joined.entry, outcome: 'refresh', coalesced: true };
    }
    const coalesced = this.loading !== undefined;
    const load = this.load('forced', trace);
    load.upstreamWanted = true;
    return { entry: (await load.promise).entry, outcome: 'refresh', coalesced };
  }

  /** Age in seconds of the copy this process holds, for health reports. */
  get localAgeSeconds(): number | undefined {
    return this.local ? Math.floor((Date.now() - this.local.fetchedAt) / 1000) : undefined;
  }

  private serveStale(entry: CachedNumbers, trace?: TraceContext): CacheRead {
    if (!this.loading && Date.now() >= this.refreshRetryAt) {
      // Failures are already logged and classified by the upstream client.
      this.load('background', trace).promise.catch(() => undefined);
    }
    return { entry, outcome: 'stale', refreshFailed: this.lastRefreshFailed };
  }

  /** The load in flight, or a new one for `reason`. */
  private load(reason: LoadReason, trace?: TraceContext): Load {
    if (this.loading) return this.loading;
    const load = { upstreamWanted: reason === 'forced' } as Load;
    load.promise = this.runLoad(load, reason, trace).finally(() => {
      if (this.loading === load) this.loading = undefined;
    });
    this.loading = load;
    return load;
  }

  /**
   * The lock is asked for together with the shared copy: both commands leave in the same turn and
   * Redis runs them in order, so a cold start waits one round trip before it knows whether to call
   * Superfone, not three (read, lock, read again).
   */
  private async runLoad(load: Load, reason: LoadReason, trace?: TraceContext): Promise<Loaded> {
    const known = this.local?.fetchedAt ?? 0;
    const [lock, shared] = await Promise.all([
      this.lock.acquire(),
      load.upstreamWanted ? undefined : this.shared.read(),
    ]);
    let published: CachedNumbers | undefined;
    try {
      const now = Date.now();
      if (
        !load.upstreamWanted &&
        shared &&
        shared.fetchedAt > known &&
        shared.isUsable(now) &&
        (reason !== 'background' || shared.isFresh(now))
      ) {
        return { entry: this.install(shared), source: 'shared' };
      }
      if (lock.state === 'busy') {
        const fromWinner = await this.waitForNewerShared(Math.max(known, shared?.fetchedAt ?? 0));
        if (fromWinner) return { entry: this.install(fromWinner), source: 'winner' };
        // The winner did not deliver in time: keep serving stale if we have it, else fetch ourselves.
        if (reason === 'background' && this.local?.isUsable(Date.now()))
          return { entry: this.local, source: 'local' };
      }
      published = await this.fetchUpstream(trace);
      return { entry: published, source: 'upstream' };
    } finally {
      this.finish(lock, published);
    }
  }

  /**
   * The one place a lock attempt ends. With a new copy, everyone waiting here is answered first;
   * the shared write and then the release follow on the next turn of the event loop (sent while
   * hundreds of answers are being written, the write's short deadline would fire before its reply
   * is read); the release comes after the write, so a replica that waited finds the copy. Without
   * one, the release leaves at once, before any later lock attempt on the same connection.
   */
  private finish(lock: LockAttempt, published: CachedNumbers | undefined): void {
    if (!published) {
      void this.lock.release(lock);
      return;
    }
    setImmediate(() => void this.shared.write(published).finally(() => this.lock.release(lock)));
  }

  private async fetchUpstream(trace?: TraceContext): Promise<CachedNumbers> {
    try {
      const numbers = await this.upstream.fetchAvailableNumbers(trace);
      const entry = this.install(new CachedNumbers(numbers, Date.now(), this.shared.timing));
      this.lastRefreshFailed = false;
      this.refreshRetryAt = 0;
      return entry;
    } catch (error) {
      this.lastRefreshFailed = true;
      this.refreshRetryAt = Date.now() + REFRESH_RETRY_AFTER_FAILURE_MS;
      throw error;
    }
  }

  /** Polls the shared tier until a copy newer than `known` appears, for at most one lock lifetime. */
  private async waitForNewerShared(known: number): Promise<CachedNumbers | undefined> {
    const deadline = Date.now() + this.lock.ttlMs;
    while (Date.now() < deadline && this.shared.reachable) {
      await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
      const shared = await this.shared.read();
      if (shared && shared.fetchedAt > known) return shared;
    }
    return undefined;
  }

  /**
   * Makes `entry` the copy this process serves. Loads run one at a time and only ever install a
   * copy newer than the one they started with, so this never goes back in time; across replicas,
   * the shared tier's write refuses an older copy (IoredisKeyvStore).
   */
  private install(entry: CachedNumbers): CachedNumbers {
    this.local = entry;
    this.metrics.cachedCopyFetchedAt.set(entry.fetchedAt / 1000);
    return entry;
  }
}
