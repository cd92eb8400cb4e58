import { Injectable } from '@nestjs/common';
import { isTimeout } from '../redis/redis-gate';
import { RedisConnection } from '../redis/redis.connection';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { RepeatedWarning } from '../logging/repeated-warning';
import { RATE_LIMIT_WINDOW_MS } from './rate-limit.constants';

/**
 * Adds N hits atomically and starts the window on the first ones; returns the window's total
 * and its remaining milliseconds.
 */
const ADD_HITS_SCRIPT = `
local hits = redis.call('INCRBY', KEYS[1], ARGV[2])
if hits == tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {hits, ttl}`;

/** Within this share of the limit (at least 1 request) every decision waits for Redis's exact count. */
const EXACT_ZONE = 0.1;
/** After a failed flush, counts stay local this long before Redis is tried again. */
const RETRY_AFTER_FAILURE_MS = 1000;

/** One client's fixed window as this process sees it. */
interface Window {
  expiresAt: number;
  /** The window's total in Redis at the last answer (all replicas). */
  synced: number;
  /** Hits sent to Redis, not yet answered. */
  inFlight: number;
  /**
   * Hits whose flush timed out: they may have landed in Redis or not. Counted here, never sent
   * again (a resend would count them twice on every replica); forgotten at the next answered
   * flush, whose total includes them if they landed (one connection runs commands in order).
   */
  unconfirmed: number;
  /** Hits not yet sent. */
  pending: number;
  flushScheduled: boolean;
}

/** One counted request: its window's total so far (this request included), and what that means. */
export interface RateLimitCount {
  readonly totalHits: number;
  /** Whole seconds until the window resets (at least 1): the `t` of RateLimit and the Retry-After of a 429. */
  readonly secondsLeft: number;
  /** The total is over the limit: this request is refused. */
  readonly isBlocked: boolean;
}

type WithAddHits = {
  superfoneBffAddHits(key: string, ttlMs: number, hits: number): Promise<[number, number]>;
};

/**
 * Rate-limit counters shared through Redis, so a client's limit holds across replicas (fixed
 * one-minute windows, one atomic Lua call per flush).
 *
 * Far from the limit, a request is admitted on this process's view (Redis's last total plus its
 * own unsent hits) and its hit is sent in a batch after the current I/O turn: a cache hit costs no
 * Redis round trip. Within the last 10% of the budget, each decision waits for Redis's exact,
 * atomic count. Replicas learn each other's hits one flush late, so below that zone a burst
 * spread over replicas can run a few requests past their shared view, never past the exact zone.
 * While Redis fails, the same counts simply stay in this process: limits loosen to per-replica
 * rather than refusing traffic.
 */
@Injectable()
export class RateLimitCounter {
  private readonly windows = new Map<string, Window>();
  private readonly fallbackWarning: RepeatedWarning;
  private usingFallback = false;
  private redisRetryAt = 0;

  constructor(
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
    logger: AppLogger,
  ) {
    this.fallbackWarning = new RepeatedWarning(
      logger.child(RateLimitCounter.name),
      'rate limits falling back to per-process counting: Redis failed',
    );
    redis.client?.defineCommand('superfoneBffAddHits', { numberOfKeys: 1, lua: ADD_HITS_SCRIPT });
  }

  /**
   * Counts one request against `key`'s budget of `limit` per window. The answer comes without a
   * promise when it is already known (far from the limit, or Redis unusable); only exact-zone
   * answers wait for Redis.
   */
  count(key: string, limit: number): RateLimitCount | Promise<RateLimitCount> {
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || now >= window.expiresAt) {
      window = {
        expiresAt: now + RATE_LIMIT_WINDOW_MS,
        synced: 0,
        inFlight: 0,
        unconfirmed: 0,
        pending: 0,
        flushScheduled: false,
      };
      this.windows.set(key, window);
    }
    const estimate = window.synced + window.inFlight + window.unconfirmed + window.pending + 1;
    const exactFrom = limit - Math.max(1, Math.ceil(limit * EXACT_ZONE));
    window.pending++;
    const redisUsable = this.redisUsable(now);
    if (!redisUsable && this.redis.client && !this.usingFallback) this.noteRedis(false);
    if (estimate <= exactFrom || !redisUsable) {
      this.scheduleFlush(key, window);
      return record(estimate, limit, window.expiresAt - now);
    }
    const current = window;
    return this.flush(key, current).then((total) =>
      total === undefined
        ? record(estimate, limit, current.expiresAt - now)
        : record(total, limit, current.expiresAt - Date.now()),
    );
  }

  private redisUsable(now: number): boolean {
    return this.redis.isUsable && now >= this.redisRetryAt;
  }

  private scheduleFlush(key: string, window: Window): void {
    if (window.flushScheduled || !this.redisUsable(Date.now())) return;
    window.flushScheduled = true;
    setImmediate(() => {
      window.flushScheduled = false;
      void this.flush(key, window);
    });
  }

  /** Sends the window's unsent hits; resolves Redis's new total, or undefined when Redis failed. */
  private async flush(key: string, window: Window): Promise<number | undefined> {
    const hits = window.pending;
    if (hits === 0) return window.synced;
    window.pending = 0;
    window.inFlight += hits;
    try {
      const [total, remainingMs] = await this.redis.run(
        'rate_limit',
        (client) =>
          (client as unknown as WithAddHits).superfoneBffAddHits(
            `${this.config.redis.keyPrefix}rate:${key}`,
            RATE_LIMIT_WINDOW_MS,
            hits,
          ),
        { retryOnTimeout: false },
      );
      window.inFlight -= hits;
      window.unconfirmed = 0;
      window.synced = Math.max(window.synced, total);
      window.expiresAt = Date.now() + remainingMs;
      this.noteRedis(true);
      return total;
    } catch (error) {
      window.inFlight -= hits;
      // A timed-out increment may still land: keep it counted here only. Anything else surely did not run.
      if (isTimeout(error)) window.unconfirmed += hits;
      else window.pending += hits;
      this.redisRetryAt = Date.now() + RETRY_AFTER_FAILURE_MS;
      this.noteRedis(false);
      return undefined;
    }
  }

  /** Falling back and counting in Redis again, summarized (the failures themselves are logged by RedisConnection). */
  private noteRedis(ok: boolean): void {
    if (ok === !this.usingFallback) return;
    this.usingFallback = !ok;
    if (ok) this.fallbackWarning.recovered('rate limits counted in Redis again');
    else this.fallbackWarning.warn();
  }
}

function record(totalHits: number, limit: number, remainingMs: number): RateLimitCount {
  return {
    totalHits,
    secondsLeft: Math.max(Math.ceil(remainingMs / 1000), 1),
    isBlocked: totalHits > limit,
  };
}
