import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { CacheKeys } from './cache-keys';
import { RedisConnection } from './redis.connection';

/** Deletes the lock only if it still holds our token, so a slow owner never frees another's lock. */
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export type LockAttempt =
  | { readonly state: 'acquired'; readonly token?: string }
  | { readonly state: 'busy' }
  | { readonly state: 'unavailable' };

/**
 * The cluster-wide refresh lock: replicas sharing a Redis elect one refresher with
 * SET NX PX and a random token. Without Redis (or while it is down) every process may refresh.
 */
@Injectable()
export class RefreshLock {
  /** The lock outlives the longest refresh, so a crashed owner frees it on its own. */
  readonly ttlMs: number;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: CacheKeys,
    config: AppConfig,
  ) {
    this.ttlMs = config.superfone.timeoutMs + 1000;
  }

  /**
   * Tries to take the lock. A command that times out while the connection is up may still have
   * landed (a busy event loop reads the reply after the deadline fired), so the outcome is then
   * read back from the lock itself rather than guessed: guessing "unavailable" would make every
   * replica call Superfone, guessing "busy" could leave nobody refreshing.
   */
  async acquire(): Promise<LockAttempt> {
    const client = this.redis.client;
    if (!client) return { state: 'acquired' };
    const token = randomUUID();
    const deadline = Date.now() + this.ttlMs;
    while (Date.now() < deadline) {
      try {
        const result = await client.set(this.keys.refreshLock, token, 'PX', this.ttlMs, 'NX');
        return result === 'OK' ? { state: 'acquired', token } : { state: 'busy' };
      } catch {
        if (!this.redis.isReady) return { state: 'unavailable' };
      }
      try {
        const holder = await client.get(this.keys.refreshLock);
        if (holder === token) return { state: 'acquired', token };
        if (holder !== null) return { state: 'busy' };
        // Nobody holds it: our SET did not land. Try again.
      } catch {
        if (!this.redis.isReady) return { state: 'unavailable' };
      }
    }
    return { state: 'unavailable' };
  }

  async release(attempt: LockAttempt): Promise<void> {
    if (attempt.state !== 'acquired' || !attempt.token || !this.redis.client) return;
    try {
      await this.redis.client.eval(RELEASE_SCRIPT, 1, this.keys.refreshLock, attempt.token);
    } catch {
      // The lock expires by itself after ttlMs.
    }
  }
}
