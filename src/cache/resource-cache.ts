import type { TraceContext } from '../tracing/trace-context';
import { CachedCopy } from './cached-copy';
import type { LockAttempt, RefreshLock } from './refresh-lock';
import {
  type Load,
  type Loaded,
  type LoadReason,
  lockWhenFree,
  waitForNewerShared,
} from './resource-load';
import {
  REFRESH_RETRY_AFTER_FAILURE_MS,
  type ResourceCacheParts,
  type ResourceRead,
} from './resource-read';
import type { SharedTier } from './shared-tier';

/**
 * Owns the freshness rules for one cached list:
 * - the in-process tier (the last copy, with its pre-serialized views) in front of the shared
 *   tier (SharedTier: cache-manager over Redis, or its in-memory store without Redis);
 * - fresh for CACHE_TTL_SECONDS, then stale for CACHE_STALE_SECONDS: a stale hit answers at once
 *   and starts one background refresh (stale-while-revalidate), at most one a second after failures;
 * - one load at a time per process (misses, background and forced refreshes all join it);
 *   replicas elect one refresher through RefreshLock and the others wait for its copy.
 * Each load owns its lock attempt and gives it back in one place (`finish`).
 */
export class ResourceCache<T> {
  readonly name: string;
  private local: CachedCopy<T> | undefined;
  private loading: Load<T> | undefined;
  private refreshRetryAt = 0;
  private lastRefreshFailed = false;
  private generation = 0;
  private readonly shared: SharedTier<T>;
  private readonly lock: RefreshLock;
  private readonly fetch: (trace?: TraceContext) => Promise<readonly T[]>;
  private readonly installed: ((copy: CachedCopy<T>) => void) | undefined;

  constructor(parts: ResourceCacheParts<T>) {
    this.name = parts.name;
    this.shared = parts.shared;
    this.lock = parts.lock;
    this.fetch = parts.fetch;
    this.installed = parts.installed;
  }

  /**
   * The list as the cache rules say to serve it now. Throws an UpstreamError when nothing usable
   * exists. `trace` is the asking request's; an upstream call it starts carries it.
   */
  async read(trace?: TraceContext): Promise<ResourceRead<T>> {
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
   * A refresh on request (POST /numbers/available/refresh): fetch from Superfone now. A load
   * already running is told to go to Superfone if it has not decided yet, and joined; a load that
   * settled for the shared copy is followed by a forced one. A running load's upstream failure is
   * this request's too.
   */
  async forceRefresh(trace?: TraceContext): Promise<ResourceRead<T>> {
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

  /**
   * After a write upstream (a link, an unlink): a copy that surely shows it. Stricter than
   * forceRefresh, which may hand back a fetch that began before the write: this one waits out
   * the load in flight here and the refresh the lock holder runs elsewhere, then fetches, and
   * settles once the copy serves here and its shared write has been attempted, so a message
   * sent afterwards never sends another replica to an older shared copy. Throws the upstream
   * failure; see invalidate().
   */
  async refreshNow(trace?: TraceContext): Promise<ResourceRead<T>> {
    for (let running = this.loading; running; running = this.loading)
      await running.promise.catch(() => undefined);
    const load = this.load('mutation', trace);
    const { entry } = await load.promise;
    await load.written;
    return { entry, outcome: 'refresh', coalesced: false };
  }

  /**
   * Forgets the copy this process serves, because the shared tier holds a newer one (another
   * replica refreshed after a write). The next read takes the shared copy; a load in flight is
   * left to its callers and keeps its copy to them, unless it is a refreshNow (which began
   * after the write it follows).
   */
  dropLocal(): void {
    this.local = undefined;
    this.loading = undefined;
    this.generation++;
  }

  /**
   * After a write upstream whose refreshNow failed: no copy anywhere still shows the list as it
   * was before the write. Deleting the shared copy, rather than keeping it for stale-if-error,
   * trades availability for truth: a known-wrong list (a number offered that is linked already)
   * would be served by every replica until the next refresh succeeds, whereas without it the
   * next read asks Superfone again (one call cluster-wide, through the lock) and answers its
   * error only while Superfone keeps failing. The other replicas' local copies still need a
   * dropLocal() each (the caller's message).
   */
  async invalidate(): Promise<void> {
    this.dropLocal();
    await this.shared.delete();
  }

  /** Age in seconds of the copy this process holds, for health reports. */
  get localAgeSeconds(): number | undefined {
    return this.local ? Math.floor((Date.now() - this.local.fetchedAt) / 1000) : undefined;
  }

  private serveStale(entry: CachedCopy<T>, trace?: TraceContext): ResourceRead<T> {
    if (!this.loading && Date.now() >= this.refreshRetryAt) {
      // Failures are already logged and classified by the upstream client.
      this.load('background', trace).promise.catch(() => undefined);
    }
    return { entry, outcome: 'stale', refreshFailed: this.lastRefreshFailed };
  }

  /** The load in flight, or a new one for `reason`. */
  private load(reason: LoadReason, trace?: TraceContext): Load<T> {
    if (this.loading) return this.loading;
    const load = {
      reason,
      upstreamWanted: reason === 'forced' || reason === 'mutation',
      generation: this.generation,
    } as Load<T>;
    load.promise = this.runLoad(load, trace).finally(() => {
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
  private async runLoad(load: Load<T>, trace?: TraceContext): Promise<Loaded<T>> {
    const { reason } = load;
    const known = this.local?.fetchedAt ?? 0;
    const [attempt, shared] = await Promise.all([
      this.lock.acquire(),
      load.upstreamWanted ? undefined : this.shared.read(),
    ]);
    let lock = attempt;
    let published: CachedCopy<T> | undefined;
    try {
      const now = Date.now();
      if (
        !load.upstreamWanted &&
        shared &&
        shared.fetchedAt > known &&
        shared.isUsable(now) &&
        (reason !== 'background' || shared.isFresh(now))
      ) {
        return { entry: this.install(shared, load), source: 'shared' };
      }
      if (lock.state === 'busy' && reason === 'mutation') {
        lock = await lockWhenFree(this.lock);
      } else if (lock.state === 'busy') {
        const fromWinner = await waitForNewerShared(
          this.shared,
          this.lock,
          Math.max(known, shared?.fetchedAt ?? 0),
        );
        if (fromWinner) return { entry: this.install(fromWinner, load), source: 'winner' };
        // The winner did not deliver in time: keep serving stale if we have it, else fetch ourselves.
        if (reason === 'background' && this.local?.isUsable(Date.now()))
          return { entry: this.local, source: 'local' };
      }
      published = await this.fetchUpstream(load, trace);
      return { entry: published, source: 'upstream' };
    } finally {
      this.finish(load, lock, published);
    }
  }

  /**
   * The one place a lock attempt ends. With a new copy, everyone waiting here is answered first;
   * the shared write and then the release follow on the next turn of the event loop (sent while
   * hundreds of answers are being written, the write's short deadline would fire before its reply
   * is read); the release comes after the write, so a replica that waited finds the copy. Without
   * one, the release leaves at once, before any later lock attempt on the same connection.
   */
  private finish(load: Load<T>, lock: LockAttempt, published: CachedCopy<T> | undefined): void {
    if (!published) {
      void this.lock.release(lock);
      return;
    }
    load.written = new Promise((resolve) => {
      setImmediate(
        () =>
          void this.shared.write(published).finally(() => {
            resolve();
            return this.lock.release(lock);
          }),
      );
    });
  }

  private async fetchUpstream(load: Load<T>, trace?: TraceContext): Promise<CachedCopy<T>> {
    try {
      const items = await this.fetch(trace);
      const entry = this.install(new CachedCopy(items, Date.now(), this.shared.timing), load);
      this.lastRefreshFailed = false;
      this.refreshRetryAt = 0;
      return entry;
    } catch (error) {
      this.lastRefreshFailed = true;
      this.refreshRetryAt = Date.now() + REFRESH_RETRY_AFTER_FAILURE_MS;
      throw error;
    }
  }

  /**
   * Makes `entry` the copy this process serves. Loads only ever install a copy newer than the one
   * served, so this never goes back in time; across replicas, the shared tier's write refuses an
   * older copy (IoredisKeyvStore). A load that a dropLocal() overtook may hold a copy older than
   * the shared one, so it installs nothing (its callers still get it); a refreshNow began after
   * the write it follows, so it always may.
   */
  private install(entry: CachedCopy<T>, load: Load<T>): CachedCopy<T> {
    const overtaken = load.generation !== this.generation && load.reason !== 'mutation';
    if (overtaken || (this.local && entry.fetchedAt < this.local.fetchedAt)) return entry;
    this.local = entry;
    this.installed?.(entry);
    return entry;
  }
}
