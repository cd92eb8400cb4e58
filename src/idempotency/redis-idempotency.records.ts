import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis/redis-client.factory';
import type { RedisConnection } from '../redis/redis.connection';
import type { ClaimOutcome } from './claim-outcome';
import { parseRecord, type RecordId } from './idempotency.record';

/**
 * Claims the key for ARGV[1] (our running record, which carries a random token) for ARGV[2] ms
 * unless a record is there; answers the record found, or nil when the claim is ours. Atomic, so
 * two replicas racing on one key get exactly one claim.
 */
const CLAIM_SCRIPT = `
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false`;

/**
 * Replaces our running record ARGV[1] with the final one ARGV[2] for ARGV[3] ms; also when our
 * claim has expired and nobody took the key since. 0: another request holds it now.
 */
const COMPLETE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] and current ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

/** Deletes the record only while it is still our running one: never another request's claim. */
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

type WithScripts = RedisClient & {
  superfoneBffIdempotencyClaim(key: string, running: string, ttlMs: number): Promise<string | null>;
  superfoneBffIdempotencyComplete(
    key: string,
    running: string,
    done: string,
    ttlMs: number,
  ): Promise<number>;
  superfoneBffIdempotencyRelease(key: string, running: string): Promise<number>;
};

/** A record Redis holds that this service did not write (another format, a foreign value). */
export class ForeignRecordError extends Error {
  constructor(key: string) {
    super(`the idempotency record at ${key} is not one this service wrote`);
    this.name = 'ForeignRecordError';
  }
}

/**
 * The records in Redis, shared by every replica. Each (client, key) is one Redis key holding one
 * JSON string, and every script touches that key alone, so it works on every topology, Redis
 * Cluster included, without a hash tag: records spread over the cluster's slots.
 * Key: REDIS_KEY_PREFIX `idempotency:` fingerprint of the Superfone key `:` client id `:` SHA-256
 * of the Idempotency-Key (the caller's text never becomes part of a key name).
 */
export class RedisIdempotencyRecords {
  private readonly base: string;

  constructor(
    private readonly redis: RedisConnection,
    keyPrefix: string,
    superfoneApiKey: string,
  ) {
    const fingerprint = sha256(superfoneApiKey).slice(0, 16);
    this.base = `${keyPrefix}idempotency:${fingerprint}:`;
    const client = redis.client;
    client?.defineCommand('superfoneBffIdempotencyClaim', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
    client?.defineCommand('superfoneBffIdempotencyComplete', {
      numberOfKeys: 1,
      lua: COMPLETE_SCRIPT,
    });
    client?.defineCommand('superfoneBffIdempotencyRelease', {
      numberOfKeys: 1,
      lua: RELEASE_SCRIPT,
    });
  }

  /** The Redis key of one (client, key). */
  keyOf(id: RecordId): string {
    return `${this.base}${id.clientId}:${sha256(id.key).slice(0, 32)}`;
  }

  /**
   * `running` is our serialized running record. A retried attempt whose first try had landed
   * finds that very record: the claim is ours then, not another request's.
   */
  async claim(id: RecordId, running: string, ttlMs: number): Promise<ClaimOutcome> {
    const key = this.keyOf(id);
    const existing = await this.redis.run('idempotency', (client) =>
      (client as WithScripts).superfoneBffIdempotencyClaim(key, running, ttlMs),
    );
    if (existing === null || existing === running) return { kind: 'claimed' };
    const record = parseRecord(existing);
    const ours = parseRecord(running);
    if (!record || !ours) throw new ForeignRecordError(key);
    if (record.fingerprint !== ours.fingerprint) return { kind: 'mismatch' };
    if (record.state === 'running') return { kind: 'running' };
    return { kind: 'done', answer: record.answer };
  }

  /** True when the final record was written; false when another request holds the key now. */
  async complete(id: RecordId, running: string, done: string, ttlMs: number): Promise<boolean> {
    const key = this.keyOf(id);
    const written = await this.redis.run('idempotency', (client) =>
      (client as WithScripts).superfoneBffIdempotencyComplete(key, running, done, ttlMs),
    );
    return written === 1;
  }

  async release(id: RecordId, running: string): Promise<void> {
    const key = this.keyOf(id);
    await this.redis.run('idempotency', (client) =>
      (client as WithScripts).superfoneBffIdempotencyRelease(key, running),
    );
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
