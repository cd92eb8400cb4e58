/** host:port of a Redis node or sentinel. */
export interface RedisNodeAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Where Redis is, in exactly one of the three shapes production runs it in:
 * - `url`: REDIS_URL, a single node or a managed endpoint (`rediss://` for TLS);
 * - `sentinel`: REDIS_SENTINELS + REDIS_SENTINEL_MASTER, a Sentinel-managed master and replicas;
 * - `cluster`: REDIS_CLUSTER_NODES, seed nodes of a Redis Cluster.
 */
export type RedisTopology =
  | { readonly kind: 'url'; readonly url: string }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly RedisNodeAddress[];
      readonly masterName: string;
      readonly sentinelPassword: string | undefined;
    }
  | { readonly kind: 'cluster'; readonly nodes: readonly RedisNodeAddress[] };

export interface RedisSettings {
  /** Absent: the in-process tier alone serves. */
  readonly topology: RedisTopology | undefined;
  /** ACL user and password (REDIS_USERNAME, REDIS_PASSWORD / _FILE); a REDIS_URL may carry its own. */
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** REDIS_TLS=true or a rediss:// URL. */
  readonly tls: boolean;
  /** PEM text of REDIS_TLS_CA_FILE: the CA that signed the Redis servers' certificates. */
  readonly tlsCa: string | undefined;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
}

/** The settings that choose a topology; two of them at once stop the boot. */
export const TOPOLOGY_SETTINGS = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const;
