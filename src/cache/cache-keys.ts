import { createHash } from 'node:crypto';

/**
 * Redis key names. Each carries REDIS_KEY_PREFIX and a fingerprint of the Superfone key (never
 * the key), so two deployments with different Superfone keys never share entries. The
 * fingerprint is a Redis Cluster hash tag (`{…}`): the copy and its refresh lock live in one
 * slot, so anything that touches them together works on a cluster.
 */
export class CacheKeys {
  readonly numbers: string;
  readonly refreshLock: string;
  /**
   * Pub/sub channel of the changes one replica announces to the others. Named like the keys, so
   * that deployments with another prefix or Superfone key never hear each other.
   */
  readonly invalidationChannel: string;
  /** Counts the announced changes: a replica that finds it past the last message it heard missed some. */
  readonly invalidationGeneration: string;

  constructor(prefix: string, superfoneApiKey: string) {
    const fingerprint = createHash('sha256').update(superfoneApiKey).digest('hex').slice(0, 16);
    const base = `${prefix}{${fingerprint}}:available-numbers`;
    this.numbers = base;
    this.refreshLock = `${base}:refresh-lock`;
    this.invalidationChannel = `${prefix}{${fingerprint}}:invalidations`;
    this.invalidationGeneration = `${prefix}{${fingerprint}}:invalidations:generation`;
  }
}
