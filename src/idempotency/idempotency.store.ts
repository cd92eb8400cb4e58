import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { RepeatedWarning } from '../logging/repeated-warning';
import { isTimeout } from '../redis/redis-gate';
import { errorMessage, RedisConnection } from '../redis/redis.connection';
import type { ClaimOutcome } from './claim-outcome';
import {
  ANSWER_TTL_MS,
  type IdempotentAnswer,
  type RecordId,
  serializeRecord,
} from './idempotency.record';
import { LocalIdempotencyRecords } from './local-idempotency.records';
import { RedisIdempotencyRecords } from './redis-idempotency.records';

/**
 * A claim on one (client, key): the request that holds it ends it exactly once, by keeping its
 * answer or by giving the key back. Neither throws: a failure to store only costs a replay.
 */
export interface Claim {
  complete(answer: IdempotentAnswer): Promise<void>;
  release(): Promise<void>;
}

export type StoreClaim =
  Exclude<ClaimOutcome, { kind: 'claimed' }> | { kind: 'claimed'; claim: Claim };

/**
 * A claim outlives the longest request it covers, so a replica that crashes mid-request frees
 * the key on its own: the mutation call and the reconcile read after a timeout (SUPERFONE_TIMEOUT_MS
 * each, retries included), a cache refresh after it, and 5 s for Redis and a busy event loop.
 */
export function runningTtlMs(config: AppConfig): number {
  return 3 * config.superfone.timeoutMs + 5000;
}

/**
 * Idempotency records: in Redis when a topology is configured, so every replica sees them; in
 * this process otherwise, and for a request whose Redis call failed (the same semantics, per
 * replica). A record this process made while Redis failed keeps deciding for its key, so a retry
 * on this replica still replays or waits after Redis comes back.
 */
@Injectable()
export class IdempotencyStore {
  readonly runningTtlMs: number;
  private readonly shared: RedisIdempotencyRecords | undefined;
  private readonly logger: Logger;
  private readonly fallbackWarning: RepeatedWarning;

  constructor(
    redis: RedisConnection,
    config: AppConfig,
    logger: AppLogger,
    readonly local: LocalIdempotencyRecords,
  ) {
    this.runningTtlMs = runningTtlMs(config);
    this.shared = redis.client
      ? new RedisIdempotencyRecords(redis, config.redis.keyPrefix, config.superfone.apiKey)
      : undefined;
    this.logger = logger.child(IdempotencyStore.name);
    this.fallbackWarning = new RepeatedWarning(
      this.logger,
      'idempotency records kept in this process only: Redis failed',
    );
  }

  /** The Redis key of one (client, key), or undefined without Redis (for tests and operators). */
  redisKeyOf(id: RecordId): string | undefined {
    return this.shared?.keyOf(id);
  }

  async claim(id: RecordId, fingerprint: string): Promise<StoreClaim> {
    const token = randomUUID();
    const running = serializeRecord({ state: 'running', fingerprint, token });
    const shared = this.shared;
    if (shared && !this.local.has(id)) {
      try {
        const outcome = await shared.claim(id, running, this.runningTtlMs);
        this.fallbackWarning.recovered('idempotency records kept in Redis again');
        return outcome.kind === 'claimed'
          ? { kind: 'claimed', claim: this.sharedClaim(shared, id, fingerprint, token, running) }
          : outcome;
      } catch (error) {
        this.fallbackWarning.warn({ err: errorMessage(error) });
        // A claim whose reply timed out may have landed: finish it in Redis too if Redis answers by then.
        return this.localClaim(
          id,
          fingerprint,
          token,
          running,
          isTimeout(error) ? shared : undefined,
        );
      }
    }
    return this.localClaim(id, fingerprint, token, running, undefined);
  }

  private localClaim(
    id: RecordId,
    fingerprint: string,
    token: string,
    running: string,
    maybeInRedis: RedisIdempotencyRecords | undefined,
  ): StoreClaim {
    const outcome = this.local.claim(id, fingerprint, token, this.runningTtlMs);
    if (outcome.kind !== 'claimed') return outcome;
    return {
      kind: 'claimed',
      claim: {
        complete: async (answer) => {
          this.local.complete(id, fingerprint, token, answer);
          if (maybeInRedis)
            await this.quietly(() =>
              this.writeFinal(maybeInRedis, id, running, fingerprint, answer),
            );
        },
        release: async () => {
          this.local.release(id, token);
          if (maybeInRedis) await this.quietly(() => maybeInRedis.release(id, running));
        },
      },
    };
  }

  private sharedClaim(
    shared: RedisIdempotencyRecords,
    id: RecordId,
    fingerprint: string,
    token: string,
    running: string,
  ): Claim {
    return {
      complete: async (answer) => {
        try {
          await this.writeFinal(shared, id, running, fingerprint, answer);
        } catch (error) {
          // This replica can still replay it; the Redis claim frees itself after runningTtlMs.
          this.fallbackWarning.warn({ err: errorMessage(error) });
          this.local.complete(id, fingerprint, token, answer);
        }
      },
      release: () =>
        // Left in Redis, the claim frees itself after runningTtlMs.
        this.quietly(() => shared.release(id, running)),
    };
  }

  private async writeFinal(
    shared: RedisIdempotencyRecords,
    id: RecordId,
    running: string,
    fingerprint: string,
    answer: IdempotentAnswer,
  ): Promise<void> {
    const done = serializeRecord({ state: 'done', fingerprint, answer });
    if (!(await shared.complete(id, running, done, ANSWER_TTL_MS)))
      this.logger.warn(
        { clientId: id.clientId },
        'an idempotent request outlived its claim and another request took the key: its answer is not kept',
      );
  }

  private async quietly(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.fallbackWarning.warn({ err: errorMessage(error) });
    }
  }
}
