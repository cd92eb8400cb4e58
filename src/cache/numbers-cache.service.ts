import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { Metrics } from '../metrics/metrics';
import type { TraceContext } from '../tracing/trace-context';
import { SuperfoneClient } from '../superfone/superfone.client';
import { CacheKeys } from './cache-keys';
import { CachedNumbers, CacheTiming } from './cached-numbers';
import { RedisConnection } from './redis.connection';
import { LockAttempt, RefreshLock } from './refresh-lock';

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

type RefreshReason = 'miss' | 'background' | 'forced';
const READ_FAILED = Symbol('readFailed');

/** After a failed refresh, stale hits wait this long before starting another. */
const REFRESH_RETRY_AFTER_FAILURE_MS = 1000;
/** How often a replica that lost the refresh election looks for the winner's result. */
const WAIT_POLL_MS = 20;

/**
 * Owns the freshness rules for the available-numbers list:
 * - in-process tier (the last copy, with its pre-serialized views) in front of the shared tier
 *   (cache-manager over Redis, or its in-memory store without REDIS_URL);
 * - fresh for CACHE_TTL_SECONDS, then stale for CACHE_STALE_SECONDS: a stale hit answers at once
 *   and starts one background refresh (stale-while-revalidate);
 * - concurrent misses in a process share one refresh; replicas elect one refresher through
 *   RefreshLock and the others wait briefly for its result;
 * - Redis failures never fail a request: they cost one short-deadline call and fall through.
 */
@Injectable()
export class NumbersCacheService {
  private readonly timing: CacheTiming;
  private readonly logger: Logger;
  private local: CachedNumbers | undefined;
  private loading: Promise<CacheRead> | undefined;
  private refreshing: Promise<CachedNumbers> | undefined;
  private refreshRetryAt = 0;
  private lastRefreshFailed = false;

  constructor(
    @Inject(CACHE_MANAGER) private readonly shared: Cache,
    private readonly upstream: SuperfoneClient,
    private readonly lock: RefreshLock,
    private readonly keys: CacheKeys,
    private readonly redis: RedisConnection,
    config: AppConfig,
    private readonly metrics: Metrics,
    logger: AppLogger,
  ) {
    this.logger = logger.child(NumbersCacheService.name);
    this.timing = { ttlMs: config.cache.ttlSeconds * 1000, staleMs: config.cache.staleSeconds * 1000 };
  }

  /**
   * The list as the cache rules say to serve it now. Throws an UpstreamError when nothing usable
   * exists. `trace` is the asking request's; an upstream call it starts carries it.
   */
  async read(trace?: TraceContext): Promise<CacheRead> {
    const now = Date.now();
    const local = this.local;
    if (local?.isFresh(now)) return { entry: local, outcome: 'hit' };
    if (local?.isUsable(now)) return this.serveStale(local, trace);
    if (this.loading) return { ...(await this.loading), coalesced: true };
    this.loading = this.loadFromShared(trace).finally(() => (this.loading = undefined));
    return this.loading;
  }

  /** POST /numbers/available/refresh: fetch upstream now (joining a refresh already running). */
  async forceRefresh(trace?: TraceContext): Promise<CacheRead> {
    const coalesced = this.refreshing !== undefined;
    return { entry: await this.refresh('forced', trace), outcome: 'refresh', coalesced };
  }

  /** Age in seconds of the copy this process holds, for health reports. */
  get localAgeSeconds(): number | undefined {
    return this.local ? Math.floor((Date.now() - this.local.fetchedAt) / 1000) : undefined;
  }

  private serveStale(entry: CachedNumbers, trace?: TraceContext): CacheRead {
    if (!this.refreshing && Date.now() >= this.refreshRetryAt) {
      // Failures are already logged and classified by the upstream client.
      this.refresh('background', trace).catch(() => undefined);
    }
    return { entry, outcome: 'stale', refreshFailed: this.lastRefreshFailed };
  }

  /**
   * A miss in this process: another replica may already have the list in Redis. The refresh
   * lock is asked for together with the shared copy: the two commands leave in the same turn and
   * Redis runs them in order, so the read sees whatever a previous lock holder wrote before it
   * released. A cold start thus waits one round trip before calling Superfone, not three (read,
   * lock, read again); during a burst of cold requests each round trip waits for the event loop to
   * get through the requests that arrived meanwhile. The lock is given back when the copy is there.
   */
  private async loadFromShared(trace?: TraceContext): Promise<CacheRead> {
    const [lock, shared] = await Promise.all([this.lock.acquire(), this.readSharedSurely()]);
    const now = Date.now();
    if (shared?.isUsable(now)) {
      // Released before a stale answer's background refresh asks for the lock again (same connection, same order).
      void this.lock.release(lock);
      const entry = this.install(shared);
      return shared.isFresh(now) ? { entry, outcome: 'hit' } : this.serveStale(entry, trace);
    }
    return { entry: await this.refresh('miss', trace, lock), outcome: 'miss' };
  }

  /** `held`: a lock attempt already made together with a read of the shared copy (loadFromShared). */
  private refresh(reason: RefreshReason, trace?: TraceContext, held?: LockAttempt): Promise<CachedNumbers> {
    if (this.refreshing && held) void this.lock.release(held);
    this.refreshing ??= this.runRefresh(reason, trace, held).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async runRefresh(reason: RefreshReason, trace?: TraceContext, held?: LockAttempt): Promise<CachedNumbers> {
    const known = this.local?.fetchedAt ?? 0;
    const lock = held ?? (await this.lock.acquire());
    if (lock.state === 'unavailable') this.metrics.redisErrors.inc({ operation: 'lock' });
    if (lock.state === 'busy') {
      const fromWinner = await this.waitForNewerShared(known);
      if (fromWinner) return this.install(fromWinner);
      // The winner did not deliver in time: keep serving stale if we have it, else fetch ourselves.
      if (reason === 'background' && this.local) return this.local;
    } else if (lock.state === 'acquired' && reason !== 'forced' && !held) {
      // Another replica may have finished a refresh between our miss and our election.
      const shared = await this.readSharedSurely();
      if (shared && shared.fetchedAt > known && shared.isFresh(Date.now())) {
        await this.lock.release(lock);
        return this.install(shared);
      }
    }
    return this.fetchUpstream(lock, trace);
  }

  private async fetchUpstream(lock: LockAttempt, trace?: TraceContext): Promise<CachedNumbers> {
    let numbers;
    try {
      numbers = await this.upstream.fetchAvailableNumbers(trace);
    } catch (error) {
      this.lastRefreshFailed = true;
      this.refreshRetryAt = Date.now() + REFRESH_RETRY_AFTER_FAILURE_MS;
      void this.lock.release(lock);
      throw error;
    }
    const entry = this.install(new CachedNumbers(numbers, Date.now(), this.timing));
    this.lastRefreshFailed = false;
    this.refreshRetryAt = 0;
    // Everyone waiting here is answered first; the shared write and then the lock release follow
    // on the next turn of the event loop. Sent while hundreds of answers are being written, the
    // write's short Redis deadline would fire before its reply is read. Other replicas are
    // polling Redis for that write, not waiting on this process.
    setImmediate(() => void this.writeShared(entry).then(() => this.lock.release(lock)));
    return entry;
  }


  /** Polls the shared tier until a copy newer than `known` appears, for at most one lock lifetime. */
  private async waitForNewerShared(known: number): Promise<CachedNumbers | undefined> {
    const deadline = Date.now() + this.lock.ttlMs;
    while (Date.now() < deadline && this.redis.isReady) {
      await sleep(WAIT_POLL_MS);
      const shared = await this.readShared();
      if (shared && shared.fetchedAt > known) return shared;
    }
    return undefined;
  }

  /** Keeps the newest copy: a slow refresh finishing late never replaces a newer one. */
  private install(entry: CachedNumbers): CachedNumbers {
    if (!this.local || entry.fetchedAt >= this.local.fetchedAt) {
      this.local = entry;
      this.metrics.cachedCopyFetchedAt.set(entry.fetchedAt / 1000);
    }
    return this.local;
  }

  /**
   * The shared tier's copy; undefined when there is none or Redis failed (counted and logged).
   * Read through the Keyv store itself, not cache-manager's get(), which hides errors as misses.
   */
  private async readShared(): Promise<CachedNumbers | undefined> {
    const read = await this.tryReadShared();
    return read === READ_FAILED ? undefined : read;
  }

  /** Like readShared(), but a failed read is retried while the connection is up (a busy loop's timeout). */
  private async readSharedSurely(): Promise<CachedNumbers | undefined> {
    const deadline = Date.now() + this.lock.ttlMs;
    for (;;) {
      const read = await this.tryReadShared();
      if (read !== READ_FAILED || !this.redis.isReady || Date.now() > deadline) return read === READ_FAILED ? undefined : read;
    }
  }

  private async tryReadShared(): Promise<CachedNumbers | undefined | typeof READ_FAILED> {
    try {
      const value = await this.shared.stores[0].get<unknown>(this.keys.numbers);
      return value === undefined ? undefined : CachedNumbers.fromShared(value, this.timing);
    } catch (error) {
      this.metrics.redisErrors.inc({ operation: 'cache_read' });
      this.logger.warn({ err: errorMessage(error) }, 'shared cache read failed');
      return READ_FAILED;
    }
  }

  private async writeShared(entry: CachedNumbers): Promise<void> {
    try {
      await this.shared.set(this.keys.numbers, entry.toShared(), this.timing.ttlMs + this.timing.staleMs);
    } catch (error) {
      this.metrics.redisErrors.inc({ operation: 'cache_write' });
      this.logger.warn({ err: errorMessage(error) }, 'shared cache write failed; serving from the in-process tier');
    }
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
