import { Cluster, Redis, RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import type { RedisSettings, RedisTopology } from '../config/redis-settings';

/** The one client the service holds: a single node (REDIS_URL, Sentinel) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** ioredis waits this long for a TCP (and TLS) connection before trying again. */
export const CONNECT_TIMEOUT_MS = 1000;

/**
 * ioredis' own per-command deadline, as a multiple of REDIS_COMMAND_TIMEOUT_MS: only a backstop, so
 * that nothing waits forever. RedisGate judges every command at REDIS_COMMAND_TIMEOUT_MS, after
 * reading the replies waiting on the socket; ioredis' timer fails a command before that read, so
 * while the event loop is held past it (a burst of requests), it would call a reply that is already
 * there a timeout.
 */
export const IOREDIS_TIMEOUT_FACTOR = 10;

/**
 * A reply that says we are talking to a replica: after a Sentinel failover the old master
 * answers writes with READONLY until the client reconnects, and Sentinel then names the new one.
 * 1 = reconnect, and fail this command (one bounded attempt) rather than resend it.
 */
export function reconnectOnReadonly(error: Error): 1 | false {
  return error.message.startsWith('READONLY') ? 1 : false;
}

/** How long to wait before reconnection attempt `attempt` (1, 2, …): 200 ms more each time, at most 2 s. */
export const retryStrategy = (attempt: number): number => Math.min(attempt * 200, 2000);

/**
 * Builds the ioredis client for the configured topology, with the settings every topology shares:
 * no offline queue (a command while disconnected fails at once), a backstop per-command deadline, no
 * per-request retries (RedisGate decides those), reconnection in the background.
 */
export function createRedisClient(
  settings: RedisSettings & { topology: RedisTopology },
): RedisClient {
  const tls: ConnectionOptions | undefined = settings.tls ? { ca: settings.tlsCa } : undefined;
  const common: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    commandTimeout: settings.commandTimeoutMs * IOREDIS_TIMEOUT_FACTOR,
    maxRetriesPerRequest: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // ioredis waits this long for a socket that may already be gone when disconnecting.
    disconnectTimeout: 250,
    reconnectOnError: reconnectOnReadonly,
    ...(settings.username !== undefined && { username: settings.username }),
    ...(settings.password !== undefined && { password: settings.password }),
    ...(tls && { tls }),
  };
  const topology = settings.topology;
  switch (topology.kind) {
    case 'url':
      return new Redis(topology.url, { ...common, retryStrategy });
    case 'sentinel':
      return new Redis({
        ...common,
        retryStrategy,
        sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
        name: topology.masterName,
        sentinelPassword: topology.sentinelPassword,
        // Sentinels speak TLS too when the data nodes do (the usual Helm charts set both).
        enableTLSForSentinelMode: settings.tls,
        ...(tls && { sentinelTLS: tls }),
        sentinelCommandTimeout: CONNECT_TIMEOUT_MS,
        sentinelRetryStrategy: retryStrategy,
        // No +switch-master subscription (ioredis' failoverDetector): its sentinel connections can
        // outlive quit() after a failover and reconnect forever. A failover is followed anyway: a
        // killed master drops the connection, and a demoted one answers READONLY, which reconnects.
        failoverDetector: false,
      });
    case 'cluster': {
      const { lazyConnect, enableOfflineQueue, ...nodeOptions } = common;
      return new Cluster(
        topology.nodes.map(({ host, port }) => ({ host, port })),
        {
          lazyConnect,
          enableOfflineQueue,
          redisOptions: nodeOptions,
          clusterRetryStrategy: retryStrategy,
          slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
          // Let the gate's deadline decide: ioredis would otherwise retry a moved slot for seconds.
          retryDelayOnFailover: 50,
          retryDelayOnClusterDown: 50,
          maxRedirections: 4,
        },
      );
    }
  }
}

/** Where Redis is, safe to log: hosts and ports only, never a password. */
export function describeTopology(topology: RedisTopology): string {
  const list = (nodes: readonly { host: string; port: number }[]) =>
    nodes.map((n) => `${n.host}:${n.port}`).join(',');
  switch (topology.kind) {
    case 'url': {
      const url = new URL(topology.url);
      return `${url.hostname}:${url.port || 6379}`;
    }
    case 'sentinel':
      return `sentinel master "${topology.masterName}" via ${list(topology.sentinels)}`;
    case 'cluster':
      return `cluster via ${list(topology.nodes)}`;
  }
}
