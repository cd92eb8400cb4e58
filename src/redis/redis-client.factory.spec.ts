import { Cluster, Redis } from 'ioredis';
import type { RedisSettings, RedisTopology } from '../config/redis-settings';
import { createRedisClient, describeTopology, reconnectOnReadonly } from './redis-client.factory';

/** The client each topology gets: nothing connects (lazyConnect), so only the options are looked at. */
describe('createRedisClient', () => {
  const clients: (Redis | Cluster)[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  function settings(
    topology: RedisTopology,
    extra: Partial<RedisSettings> = {},
  ): RedisSettings & { topology: RedisTopology } {
    return {
      topology,
      username: undefined,
      password: undefined,
      tls: false,
      tlsCa: undefined,
      keyPrefix: 'p:',
      commandTimeoutMs: 75,
      ...extra,
    };
  }
  function build(s: RedisSettings & { topology: RedisTopology }): Redis | Cluster {
    const client = createRedisClient(s);
    clients.push(client);
    return client;
  }
  function buildRedis(s: RedisSettings & { topology: RedisTopology }): Redis {
    const client = build(s);
    if (!(client instanceof Redis)) throw new Error('expected a single-node Redis client');
    return client;
  }
  function buildCluster(s: RedisSettings & { topology: RedisTopology }): Cluster {
    const client = build(s);
    if (!(client instanceof Cluster)) throw new Error('expected a Cluster client');
    return client;
  }
  const sentinel: RedisTopology = {
    kind: 'sentinel',
    sentinels: [
      { host: 's1', port: 26379 },
      { host: 's2', port: 26380 },
    ],
    masterName: 'primary',
    sentinelPassword: 'sentinel-secret',
  };
  const cluster: RedisTopology = {
    kind: 'cluster',
    nodes: [
      { host: 'n1', port: 7000 },
      { host: 'n2', port: 7001 },
    ],
  };

  it('REDIS_URL: no offline queue, our deadline, no per-request retries, a capped reconnect backoff', () => {
    const client = buildRedis(settings({ kind: 'url', url: 'redis://cache.internal:6380' }));

    expect(client).toBeInstanceOf(Redis);
    expect(client.status).toBe('wait');
    expect(client.options).toMatchObject({
      host: 'cache.internal',
      port: 6380,
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: 750,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      disconnectTimeout: 250,
      reconnectOnError: reconnectOnReadonly,
    });
    expect(client.options.username).toBeNull();
    expect(client.options.password).toBeNull();
    expect(client.options.tls).toBeUndefined();
    const retry = client.options.retryStrategy as (attempt: number) => number;
    expect([1, 2, 10, 11, 50].map(retry)).toEqual([200, 400, 2000, 2000, 2000]);
  });

  it('REDIS_URL with an ACL user, a password and TLS with our own CA', () => {
    const client = buildRedis(
      settings(
        { kind: 'url', url: 'rediss://cache.internal:6380' },
        { username: 'bff', password: 'pw', tls: true, tlsCa: 'PEM' },
      ),
    );

    expect(client.options).toMatchObject({ username: 'bff', password: 'pw', tls: { ca: 'PEM' } });
  });

  it('Sentinel: the master by name through every sentinel, TLS to the sentinels too, no +switch-master subscription', () => {
    const client = buildRedis(settings(sentinel, { password: 'pw', tls: true, tlsCa: 'PEM' }));

    expect(client).toBeInstanceOf(Redis);
    expect(client.options).toMatchObject({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'primary',
      sentinelPassword: 'sentinel-secret',
      password: 'pw',
      enableTLSForSentinelMode: true,
      sentinelTLS: { ca: 'PEM' },
      tls: { ca: 'PEM' },
      sentinelCommandTimeout: 1000,
      // Its sentinel connections could outlive quit() after a failover.
      failoverDetector: false,
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: 750,
      maxRetriesPerRequest: 0,
    });
    expect((client.options.retryStrategy as (n: number) => number)(3)).toBe(600);
    expect((client.options.sentinelRetryStrategy as (n: number) => number)(30)).toBe(2000);
  });

  it('Sentinel without TLS: plain connections to the sentinels', () => {
    const client = buildRedis(settings(sentinel));

    expect(client.options.enableTLSForSentinelMode).toBe(false);
    expect(client.options).not.toHaveProperty('sentinelTLS');
  });

  it('Cluster: seed nodes, the shared settings on every node, short slot-refresh and failover waits', () => {
    const client = buildCluster(settings(cluster, { username: 'bff', password: 'pw' }));

    expect(client).toBeInstanceOf(Cluster);
    expect(client.status).toBe('wait');
    expect((client as unknown as { startupNodes: unknown }).startupNodes).toEqual([
      { host: 'n1', port: 7000 },
      { host: 'n2', port: 7001 },
    ]);
    expect(client.options).toMatchObject({
      lazyConnect: true,
      enableOfflineQueue: false,
      slotsRefreshTimeout: 1000,
      retryDelayOnFailover: 50,
      retryDelayOnClusterDown: 50,
      maxRedirections: 4,
    });
    expect(client.options.redisOptions).toMatchObject({
      commandTimeout: 750,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      reconnectOnError: reconnectOnReadonly,
      username: 'bff',
      password: 'pw',
    });
    // The node options never carry the cluster-level ones.
    expect(client.options.redisOptions).not.toHaveProperty('lazyConnect');
    expect(client.options.redisOptions).not.toHaveProperty('enableOfflineQueue');
    expect((client.options.clusterRetryStrategy as (times: number) => number)(2)).toBe(400);
  });
});

describe('reconnectOnReadonly', () => {
  it('reconnects (and fails the command) only on a READONLY reply', () => {
    expect(
      reconnectOnReadonly(new Error("READONLY You can't write against a read only replica.")),
    ).toBe(1);
    expect(reconnectOnReadonly(new Error('ERR READONLY is not at the start'))).toBe(false);
    expect(
      reconnectOnReadonly(
        new Error('WRONGTYPE Operation against a key holding the wrong kind of value'),
      ),
    ).toBe(false);
  });
});

describe('describeTopology', () => {
  it('names hosts and ports, never a password', () => {
    expect(describeTopology({ kind: 'url', url: 'redis://:secret@cache.internal:6380/0' })).toBe(
      'cache.internal:6380',
    );
    expect(describeTopology({ kind: 'url', url: 'redis://cache.internal' })).toBe(
      'cache.internal:6379',
    );
    expect(
      describeTopology({
        kind: 'sentinel',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
        masterName: 'primary',
        sentinelPassword: 'secret',
      }),
    ).toBe('sentinel master "primary" via s1:26379,s2:26380');
    expect(
      describeTopology({
        kind: 'cluster',
        nodes: [
          { host: 'n1', port: 7000 },
          { host: 'n2', port: 7001 },
        ],
      }),
    ).toBe('cluster via n1:7000,n2:7001');
  });
});
