import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { RepeatedWarning } from '../logging/repeated-warning';
import type { RedisClient } from '../redis/redis-client.factory';
import { RedisConnection } from '../redis/redis.connection';
import { CacheKeys, type ResourceKeys } from './cache-keys';

/**
 * Takes the lock for ARGV[1] (a token) for ARGV[2] ms. 1: ours (also when a retried attempt had
 * landed already, or the holder is one of this process's earlier tokens, ARGV[3…], whose release
 * never reached Redis); 0: another holder's; -1: the key holds something that is not a lock of
 * ours (another type, or no expiry), which would otherwise block every refresh forever.
 */
const ACQUIRE_SCRIPT = `
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if kind ~= 'string' or redis.call('PTTL', KEYS[1]) < 0 then return -1 end
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return 1 end
for i = 3, #ARGV do
  if holder == ARGV[i] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
  end
end
return 0`;

/** Most earlier tokens remembered: each is at most one lock lifetime old when it matters. */
const MAX_LEFTOVERS = 8;

/** Deletes the lock only if it still holds our token, so a slow owner never frees another's lock. */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

type WithScripts = RedisClient & {
  superfoneBffAcquireLock(
    key: string,
    token: string,
    ttlMs: number,
    ...leftovers: string[]
  ): Promise<number>;
  superfoneBffReleaseLock(key: string, token: string): Promise<number>;
};

/**
 * - acquired: this process refreshes for everyone;
 * - busy: another replica does; wait for its copy;
 * - unavailable: no Redis, Redis failing, or a foreign value under the lock: refresh alone.
 * `token` is kept whatever the state: a timed-out attempt may have landed, and release() frees it then.
 */
export interface LockAttempt {
  readonly state: 'acquired' | 'busy' | 'unavailable';
  readonly token: string;
}

/**
 * The cluster-wide refresh lock of one cached resource: replicas sharing a Redis elect one
 * refresher with a random token and an expiry. Without Redis (or while it fails) every process
 * may refresh. Injected, it is the available-numbers lock (CacheKeys.refreshLock); other
 * resources construct one with their own ResourceKeys.
 */
@Injectable()
export class RefreshLock {
  /** The lock outlives the longest refresh, so a crashed owner frees it on its own. */
  readonly ttlMs: number;
  /**
   * Tokens of this process whose release failed (Redis paused or down) and that may still hold
   * the lock: the next attempt takes such a lock over instead of waiting for itself.
   */
  private readonly leftovers = new Set<string>();
  private readonly foreignWarning: RepeatedWarning;

  constructor(
    private readonly redis: RedisConnection,
    @Inject(CacheKeys) private readonly keys: Pick<ResourceKeys, 'refreshLock'>,
    config: AppConfig,
    logger: AppLogger,
  ) {
    this.ttlMs = config.superfone.timeoutMs + 1000;
    this.foreignWarning = new RepeatedWarning(
      logger.child(RefreshLock.name),
      'the refresh lock key holds a value this service did not write: every replica refreshes on its own until it is deleted',
    );
    redis.client?.defineCommand('superfoneBffAcquireLock', {
      numberOfKeys: 1,
      lua: ACQUIRE_SCRIPT,
    });
    redis.client?.defineCommand('superfoneBffReleaseLock', {
      numberOfKeys: 1,
      lua: RELEASE_SCRIPT,
    });
  }

  async acquire(): Promise<LockAttempt> {
    const token = randomUUID();
    if (!this.redis.client) return { state: 'acquired', token };
    try {
      const leftovers = [...this.leftovers];
      const result = await this.redis.run('lock', (client) =>
        (client as WithScripts).superfoneBffAcquireLock(
          this.keys.refreshLock,
          token,
          this.ttlMs,
          ...leftovers,
        ),
      );
      if (result === 1) this.leftovers.clear();
      if (result === -1) this.foreignWarning.warn({ key: this.keys.refreshLock });
      else this.foreignWarning.recovered('the refresh lock key is usable again');
      return { state: result === 1 ? 'acquired' : result === 0 ? 'busy' : 'unavailable', token };
    } catch {
      // Counted and logged by RedisConnection.
      return { state: 'unavailable', token };
    }
  }

  /** Gives the lock back if this attempt holds it (or may hold it, after a timeout). */
  async release(attempt: LockAttempt): Promise<void> {
    if (attempt.state === 'busy' || !this.redis.client) return;
    try {
      await this.redis.run('lock', (client) =>
        (client as WithScripts).superfoneBffReleaseLock(this.keys.refreshLock, attempt.token),
      );
    } catch {
      // It expires by itself after ttlMs; until then this process's next attempt may take it over.
      if (this.leftovers.size >= MAX_LEFTOVERS)
        this.leftovers.delete(this.leftovers.values().next().value as string);
      this.leftovers.add(attempt.token);
    }
  }
}
