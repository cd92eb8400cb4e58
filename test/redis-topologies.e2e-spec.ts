import { Cluster, Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
import {
  clusterAvailable,
  makeTlsFiles,
  type RedisClusterTopology,
  type SentinelGroup,
  sentinelAvailable,
  startCluster,
  startRedisNode,
  startSentinelGroup,
  stopAllStarted,
  type TlsFiles,
  tlsAvailable,
} from './support/redis-topologies';
import { defined } from './support/defined';

/**
 * The harness in test/support/redis-topologies.ts: real topologies that start, fail over, and leave
 * nothing behind. REDIS_TOPOLOGIES_DEBUG=1 prints how long each step took.
 */

const alive = (pid: number | undefined): boolean => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const timed = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
  const started = Date.now();
  const result = await work();
  if (process.env.REDIS_TOPOLOGIES_DEBUG)
    process.stdout.write(`[timing] ${label}: ${Date.now() - started} ms\n`);
  return result;
};

afterAll(() => stopAllStarted());

(sentinelAvailable() ? describe : describe.skip)(
  'a sentinel group (master, replica, 3 sentinels)',
  () => {
    let started: SentinelGroup | undefined;
    const group = () => defined(started, 'the sentinel group (see beforeAll)');
    let client: Redis | undefined;

    beforeAll(async () => {
      started = await timed('sentinel group start', () => startSentinelGroup());
    }, 30_000);
    afterAll(async () => {
      client?.disconnect();
      await started?.stop();
    });

    it('starts with the first node as master, reachable through the sentinels', async () => {
      expect(group().sentinels).toHaveLength(3);
      expect(await group().currentMaster()).toEqual({
        host: group().nodes[0].host,
        port: group().nodes[0].port,
      });
      client = new Redis({
        sentinels: group().sentinels.map(({ host, port }) => ({ host, port })),
        name: group().masterName,
        maxRetriesPerRequest: 2,
      });
      client.on('error', () => undefined);
      await client.set('superfone-bff:topology', 'one');
      expect(await client.get('superfone-bff:topology')).toBe('one');
    });

    it('failover() moves the master to the replica and makes the old master its replica', async () => {
      const next = await timed('sentinel failover()', () => group().failover());
      expect(next.port).toBe(group().nodes[1].port);
      expect(await group().currentMaster()).toEqual(next);
    });

    it('killMaster() lets the sentinels promote the replica', async () => {
      const next = await timed('sentinel killMaster()', () => group().killMaster());
      expect(next.port).toBe(group().nodes[0].port);
      expect(alive(group().nodes[1].pid)).toBe(false);
      expect(await defined(client, 'the first test’s client').get('superfone-bff:topology')).toBe(
        'one',
      );
    }, 35_000);

    it('stop() leaves no process alive', async () => {
      const pids = [...group().nodes, ...group().sentinels].map((p) => p.pid);
      client?.disconnect();
      await group().stop();
      expect(pids.filter(alive)).toEqual([]);
    });
  },
);

(clusterAvailable() ? describe : describe.skip)('a cluster (3 masters, 3 replicas)', () => {
  let started: RedisClusterTopology | undefined;
  const cluster = () => defined(started, 'the cluster (see beforeAll)');
  let client: Cluster | undefined;

  beforeAll(async () => {
    started = await timed('cluster start', () => startCluster());
  }, 30_000);
  afterAll(async () => {
    client?.disconnect();
    await started?.stop();
  });

  it('serves SET/GET through an ioredis Cluster client, and again after the key’s master is killed', async () => {
    expect(cluster().nodes).toHaveLength(6);
    client = new Cluster(
      cluster()
        .seeds.split(',')
        .map((seed) => ({ host: seed.split(':')[0], port: Number(seed.split(':')[1]) })),
    );
    client.on('error', () => undefined);
    await client.set('superfone-bff:topology', 'one');
    expect(await client.get('superfone-bff:topology')).toBe('one');

    await timed('cluster killMasterOf()', () => cluster().killMasterOf('superfone-bff:topology'));
    expect(await client.get('superfone-bff:topology')).toBe('one');
    await client.set('superfone-bff:topology', 'two');
    expect(await client.get('superfone-bff:topology')).toBe('two');
  }, 35_000);

  it('stop() leaves no process alive', async () => {
    const pids = cluster().nodes.map((p) => p.pid);
    client?.disconnect();
    await cluster().stop();
    expect(pids.filter(alive)).toEqual([]);
  });
});

(tlsAvailable() ? describe : describe.skip)('a TLS node with an ACL user', () => {
  let tls: TlsFiles;
  const user = {
    name: 'bff',
    password: 's3cret pass"word',
    rules: '~superfone-bff* &* +get +set +ping',
  };

  beforeAll(async () => {
    tls = await timed('makeTlsFiles()', () => makeTlsFiles());
  });

  it('takes the user over TLS with the test CA, and refuses a client that trusts another CA', async () => {
    const node = await startRedisNode({ tls, aclUser: user });
    expect(node.url).toMatch(/^rediss:\/\/127\.0\.0\.1:\d+$/);
    const client = new Redis(node.url, {
      tls: { ca: readFileSync(tls.caFile) },
      username: user.name,
      password: user.password,
      maxRetriesPerRequest: 0,
      enableReadyCheck: false,
    });
    try {
      await client.set('superfone-bff:tls', 'yes');
      expect(await client.get('superfone-bff:tls')).toBe('yes');
      await expect(client.get('other:key')).rejects.toThrow(/NOPERM/);
    } finally {
      client.disconnect();
    }

    const other = await makeTlsFiles();
    const stranger = new Redis(node.url, {
      tls: { ca: readFileSync(other.caFile) },
      username: user.name,
      password: user.password,
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    const errors: Error[] = [];
    stranger.on('error', (error: Error) => errors.push(error));
    try {
      await expect(stranger.connect()).rejects.toThrow();
    } finally {
      if (stranger.status !== 'end') stranger.disconnect();
    }
    expect(errors.map((e) => e.message).join('; ')).toMatch(/certificate/i);

    const pid = node.pid;
    await node.stop();
    expect(alive(pid)).toBe(false);
  });
});

(tlsAvailable() && sentinelAvailable() && clusterAvailable() ? describe : describe.skip)(
  'sentinel and cluster over TLS, with passwords and an ACL user',
  () => {
    const user = {
      name: 'bff',
      password: 'acl-pw',
      rules: '~superfone-bff* &* +get +set +ping +info +cluster|slots +cluster|info',
    };

    it('both start side by side and serve that user through ioredis', async () => {
      const tls = await makeTlsFiles();
      const ca = readFileSync(tls.caFile);
      const [group, cluster] = await timed(
        'TLS sentinel group + TLS cluster start (in parallel)',
        () =>
          Promise.all([
            startSentinelGroup({
              tls,
              password: 'default-pw',
              sentinelPassword: 'sentinel-pw',
              aclUser: user,
            }),
            startCluster({ tls, password: 'default-pw', aclUser: user }),
          ]),
      );
      const viaSentinels = new Redis({
        sentinels: group.sentinels.map(({ host, port }) => ({ host, port })),
        name: group.masterName,
        sentinelPassword: 'sentinel-pw',
        enableTLSForSentinelMode: true,
        sentinelTLS: { ca },
        tls: { ca },
        username: user.name,
        password: user.password,
        maxRetriesPerRequest: 1,
      });
      const viaCluster = new Cluster(
        cluster.seeds
          .split(',')
          .map((seed) => ({ host: seed.split(':')[0], port: Number(seed.split(':')[1]) })),
        {
          redisOptions: { tls: { ca }, username: user.name, password: user.password },
          clusterRetryStrategy: () => null,
        },
      );
      viaSentinels.on('error', () => undefined);
      viaCluster.on('error', () => undefined);
      try {
        await viaSentinels.set('superfone-bff:tls', 'sentinel');
        expect(await viaSentinels.get('superfone-bff:tls')).toBe('sentinel');
        await viaCluster.set('superfone-bff:tls', 'cluster');
        expect(await viaCluster.get('superfone-bff:tls')).toBe('cluster');
      } finally {
        viaSentinels.disconnect();
        viaCluster.disconnect();
      }
      const pids = [...group.nodes, ...group.sentinels, ...cluster.nodes].map((p) => p.pid);
      await Promise.all([group.stop(), cluster.stop()]);
      expect(pids.filter(alive)).toEqual([]);
    }, 30_000);
  },
);
