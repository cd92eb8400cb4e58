import { createHash } from 'node:crypto';

/** The two keys of one cached resource: its shared copy and the lock electing its refresher. */
export interface ResourceKeys {
  readonly copy: string;
  readonly refreshLock: string;
}

/**
 * Redis key names. Each carries REDIS_KEY_PREFIX and a fingerprint of the Superfone key (never
 * the key), so two deployments with different Superfone keys never share entries. The
 * fingerprint is a Redis Cluster hash tag (`{…}`): a copy and its refresh lock live in one
 * slot, so anything that touches them together works on a cluster.
 */
export class CacheKeys {
  /** The available-numbers copy and its lock, as named before other resources were cached. */
  readonly numbers: string;
  readonly refreshLock: string;
  /**
   * Pub/sub channel of the changes one replica announces to the others. Named like the keys, so
   * that deployments with another prefix or Superfone key never hear each other.
   */
  readonly invalidationChannel: string;
  /** Counts the announced changes: a replica that finds it past the last message it heard missed some. */
  readonly invalidationGeneration: string;
  private readonly base: string;

  constructor(prefix: string, superfoneApiKey: string) {
    const fingerprint = createHash('sha256').update(superfoneApiKey).digest('hex').slice(0, 16);
    this.base = `${prefix}{${fingerprint}}`;
    const numbers = this.forResource('available-numbers');
    this.numbers = numbers.copy;
    this.refreshLock = numbers.refreshLock;
    this.invalidationChannel = `${this.base}:invalidations`;
    this.invalidationGeneration = `${this.base}:invalidations:generation`;
  }

  /**
   * The keys of one resource (`apps`, `app-numbers:<appId>`…). The name is used as given:
   * callers put only characters of their own choosing (or URI-encoded input) in it.
   */
  forResource(name: string): ResourceKeys {
    const copy = `${this.base}:${name}`;
    return { copy, refreshLock: `${copy}:refresh-lock` };
  }
}
