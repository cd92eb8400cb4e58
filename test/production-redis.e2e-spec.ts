import { expect } from '@jest/globals';
import { Redis } from 'ioredis';
import { createHash, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isError } from './support/errors';
import { SuperfoneStandIn } from '../tools/superfone-stand-in/superfone-stand-in';
import {
  clusterAvailable,
  makeTlsFiles,
  RedisClusterTopology,
  RedisNode,
  SentinelGroup,
  sentinelAvailable,
  startCluster,
  startRedisNode,
  startSentinelGroup,
  stopAllStarted,
  TlsFiles,
  tlsAvailable,
} from './support/redis-topologies';
import { KEYS } from './support/client-keys.fixture';
import { clusterServiceAcl, serviceAcl } from './support/service-acl';
import { parseCachedCopy, parseLogLines, readHealth, readNumbers } from './support/bodies';
import { bearer, Harness, SERVER_KEY, startHarness, startSharedStandIn } from './support/test-app';
import { eventually } from './support/timing';

const read = bearer(KEYS.reader);
const refresh = bearer(KEYS.refresher);
const fingerprint = createHash('sha256').update(SERVER_KEY).digest('hex').slice(0, 16);
const copyKey = (prefix: string) => `${prefix}{${fingerprint}}:available-numbers`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Three replicas of one deployment (same key prefix) on the topology `redisEnv` describes. */
async function startReplicas(
  standIn: SuperfoneStandIn,
  redisEnv: Record<string, string>,
  env: Record<string, string> = {},
): Promise<Harness[]> {
  const keyPrefix = `superfone-bff-test:${randomUUID()}:`;
  // Steady traffic is a few hundred requests a second: well inside the clients' budget.
  return Promise.all(
    [0, 1, 2].map(() =>
      startHarness({
        standIn,
        redisEnv,
        keyPrefix,
        env: { RATE_LIMIT_PER_MINUTE: '1000000', ...env },
      }),
    ),
  );
}

interface Traffic {
  /** Stops the load; resolves with every answer that was not a 200, and how many were sent. */
  stop(): Promise<{ sent: number; refreshes: number; failed: string[] }>;
}

/** Steady GETs on every replica and a forced refresh every second, as company apps would send. */
function steadyTraffic(replicas: Harness[]): Traffic {
  let running = true;
  let sent = 0;
  let refreshes = 0;
  const failed: string[] = [];
  const call = async (replica: number, path: string, init: RequestInit) => {
    sent++;
    const res = await fetch(`${replicas[replica].url}${path}`, {
      ...init,
      signal: AbortSignal.timeout(5000),
    }).catch((e: unknown) => (isError(e) ? e : new Error(String(e))));
    if (res instanceof Error) failed.push(`${path} on ${replica}: ${res.message}`);
    else if (res.status !== 200)
      failed.push(`${path} on ${replica}: ${res.status} ${await res.text()}`);
    else await res.arrayBuffer();
  };
  const gets = [0, 1, 2].map(async (r) => {
    while (running) {
      await call(r, '/numbers/available', { headers: read });
      await sleep(10);
    }
  });
  const refreshEverySecond = async () => {
    for (let i = 0; running; i++) {
      await sleep(1000);
      refreshes++;
      await call(i % 3, '/numbers/available/refresh', { method: 'POST', headers: refresh });
    }
  };
  const posts = refreshEverySecond();
  return {
    stop: async () => {
      running = false;
      await Promise.all([...gets, posts]);
      return { sent, refreshes, failed };
    },
  };
}

/** The copy's fetch time as stored on one node, or undefined. */
async function storedFetchedAt(
  node: { host: string; port: number },
  prefix: string,
  options: { tls?: { ca: string }; username?: string; password?: string } = {},
): Promise<number | undefined> {
  const redis = new Redis({
    host: node.host,
    port: node.port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    ...options,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const value = await redis.get(copyKey(prefix));
    return value === null ? undefined : Date.parse(parseCachedCopy(value).value.fetchedAt);
  } finally {
    redis.disconnect();
  }
}

function report(name: string, figures: Record<string, unknown>): void {
  if (process.env.REDIS_REPORT) process.stdout.write(`${name}: ${JSON.stringify(figures)}\n`);
}

/** The commands and channels the service uses, and nothing else: what an operator grants its ACL user. */
const SERVICE_ACL = serviceAcl();
const CLUSTER_ACL = clusterServiceAcl();

afterAll(async () => {
  await stopAllStarted();
});

(sentinelAvailable() ? describe : describe.skip)(
  'on Redis Sentinel (a master, a replica, three sentinels)',
  () => {
    let group: SentinelGroup;
    let standIn: SuperfoneStandIn;
    let replicas: Harness[] = [];

    beforeAll(async () => {
      group = await startSentinelGroup();
      standIn = await startSharedStandIn();
      const redisEnv = {
        REDIS_SENTINELS: group.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
        REDIS_SENTINEL_MASTER: group.masterName,
      };
      replicas = await startReplicas(standIn, redisEnv, { CACHE_TTL_SECONDS: '1' });
    }, 60_000);
    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.close()));
      await standIn.stop();
      await group.stop();
    }, 30_000);

    it('a forced failover and a killed master under steady traffic: no failed request, writes reach the new master, one upstream call per refresh', async () => {
      const prefix = replicas[0].keyPrefix;
      for (const r of replicas) expect((await r.get('/numbers/available', read)).status).toBe(200);
      const callsBefore = standIn.calls;
      const started = Date.now();
      const traffic = steadyTraffic(replicas);
      await sleep(1500);

      // How long each change kept the replicas from sharing a copy through Redis: from its start to
      // the first copy written to the new master.
      const failoverStarted = Date.now();
      const promoted = await group.failover();
      const failedOverAt = Date.now();
      await eventually(
        async () =>
          ((await storedFetchedAt(promoted, prefix)) ?? 0) > failedOverAt ? true : undefined,
        'a copy written to the new master',
        10_000,
      );
      const firstOutageMs = Date.now() - failoverStarted;

      const killStarted = Date.now();
      const second = await group.killMaster();
      const killedAt = Date.now();
      await eventually(
        async () => (((await storedFetchedAt(second, prefix)) ?? 0) > killedAt ? true : undefined),
        'a copy written to the master after the kill',
        10_000,
      );
      const secondOutageMs = Date.now() - killStarted;
      await sleep(1000);
      const { sent, refreshes, failed } = await traffic.stop();
      const seconds = (Date.now() - started) / 1000;
      const calls = standIn.calls - callsBefore;
      // Whole seconds of freshness (CACHE_TTL_SECONDS=1) each change spanned, its partial seconds
      // at both ends included.
      const outageSeconds = Math.ceil(firstOutageMs / 1000) + Math.ceil(secondOutageMs / 1000) + 2;
      report('sentinel', {
        sent,
        failed: failed.length,
        refreshes,
        seconds: seconds.toFixed(1),
        outageSeconds,
        upstreamCalls: calls,
      });

      expect(failed).toEqual([]);
      // One refresh per second of freshness cluster-wide, plus one per forced refresh. While Redis
      // changes master the replicas cannot share the refresh lock or the copy, and each may refresh
      // on its own once per second of freshness: the other replicas add at most one each per second
      // of those changes. Never one call per request (hundreds).
      expect(calls).toBeLessThanOrEqual(
        Math.ceil(seconds) + refreshes + (replicas.length - 1) * outageSeconds,
      );
    }, 90_000);
  },
);

(clusterAvailable() ? describe : describe.skip)(
  'on Redis Cluster (3 masters, 3 replicas), as an ACL user',
  () => {
    let cluster: RedisClusterTopology;
    let standIn: SuperfoneStandIn;
    let replicas: Harness[] = [];

    beforeAll(async () => {
      cluster = await startCluster({
        aclUser: { name: 'superfone-bff', password: 'cluster-acl-pw', rules: CLUSTER_ACL },
      });
      standIn = await startSharedStandIn();
      const redisEnv = {
        REDIS_CLUSTER_NODES: cluster.seeds,
        REDIS_USERNAME: 'superfone-bff',
        REDIS_PASSWORD: 'cluster-acl-pw',
      };
      replicas = await startReplicas(standIn, redisEnv, { CACHE_TTL_SECONDS: '2' });
      // On a busy machine a replica may finish booting before its cluster client has the slot map.
      for (const r of replicas) {
        await eventually(
          async () => ((await r.get('/health/deps')).status === 200 ? true : undefined),
          'the replica connected to the cluster',
          10_000,
        );
      }
    }, 60_000);
    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.close()));
      await standIn.stop();
      await cluster.stop();
    }, 30_000);

    it('every feature works: one upstream call for a cold burst over the replicas, hits, refresh, rate-limit counts, health', async () => {
      standIn.setBehaviour({ kind: 'ok', delayMs: 100 });
      const burst = await Promise.all(
        Array.from({ length: 150 }, (_, i) => replicas[i % 3].get('/numbers/available', read)),
      );
      expect(burst.map((r) => r.status)).toEqual(Array(150).fill(200));
      expect(standIn.calls).toBe(1);

      const hit = await replicas[1].get('/numbers/available', read);
      expect(hit.headers.get('cache-status')).toMatch(/; hit;/);
      const refreshed = await fetch(`${replicas[2].url}/numbers/available/refresh`, {
        method: 'POST',
        headers: refresh,
      });
      expect(refreshed.status).toBe(200);
      expect(standIn.calls).toBe(2);
      const fetchedAt = Date.parse((await readNumbers(refreshed)).meta.fetchedAt);

      const seeds = cluster.seeds
        .split(',')
        .map((s) => ({ host: s.split(':')[0], port: Number(s.split(':')[1]) }));
      const client = new Redis.Cluster(seeds, { lazyConnect: true });
      try {
        await client.connect();
        await eventually(async () => {
          const value = await client.get(copyKey(replicas[0].keyPrefix));
          return value !== null && Date.parse(parseCachedCopy(value).value.fetchedAt) === fetchedAt
            ? true
            : undefined;
        }, 'the refreshed copy in the cluster');
        await eventually(
          async () =>
            (await client.get(`${replicas[0].keyPrefix}rate:reader-app`)) !== null
              ? true
              : undefined,
          'the rate-limit counter in the cluster',
        );
      } finally {
        client.disconnect();
      }
      const deps = await readHealth(await replicas[0].get('/health/deps'));
      expect(deps.info?.redis).toMatchObject({
        status: 'up',
        host: expect.stringMatching(/^cluster via /),
      });
      // The ACL user's rules cover every command, script and channel (the invalidation bus too).
      for (const r of replicas) expect(r.logs.join('\n')).not.toContain('NOPERM');
    });

    it("keeps answering 200 while the master of the copy's slot is killed and its replica promoted", async () => {
      const traffic = steadyTraffic(replicas);
      await sleep(500);
      const started = Date.now();
      await cluster.killMasterOf(copyKey(replicas[0].keyPrefix));
      const promotedMs = Date.now() - started;
      await sleep(1500);
      const { sent, failed } = await traffic.stop();
      report('cluster', { sent, failed: failed.length, promotedMs });

      expect(failed).toEqual([]);
      // And the promoted replica takes the writes.
      const refreshed = await fetch(`${replicas[0].url}/numbers/available/refresh`, {
        method: 'POST',
        headers: refresh,
      });
      const fetchedAt = Date.parse((await readNumbers(refreshed)).meta.fetchedAt);
      const seeds = cluster.seeds
        .split(',')
        .map((s) => ({ host: s.split(':')[0], port: Number(s.split(':')[1]) }));
      const client = new Redis.Cluster(seeds, {
        lazyConnect: true,
        clusterRetryStrategy: () => null,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await eventually(
          async () => {
            const value = await client.get(copyKey(replicas[0].keyPrefix)).catch(() => null);
            return value !== null &&
              Date.parse(parseCachedCopy(value).value.fetchedAt) === fetchedAt
              ? true
              : undefined;
          },
          'the copy written after the promotion',
          10_000,
        );
      } finally {
        client.disconnect();
      }
    }, 60_000);
  },
);

(tlsAvailable() ? describe : describe.skip)('on Redis with TLS (own CA) and an ACL user', () => {
  let tls: TlsFiles;
  let node: RedisNode;
  let h: Harness | undefined;

  beforeAll(async () => {
    tls = await makeTlsFiles();
    node = await startRedisNode({
      tls,
      password: 'default-user-is-not-ours',
      aclUser: { name: 'superfone-bff', password: 'acl-s3cret-pw', rules: SERVICE_ACL },
    });
    writeFileSync(join(tls.dir, 'redis-password'), 'acl-s3cret-pw\n');
  }, 30_000);
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  afterAll(async () => {
    await node.stop();
  });

  const redisEnv = () => ({
    REDIS_URL: `rediss://${node.host}:${node.port}`,
    REDIS_USERNAME: 'superfone-bff',
    REDIS_PASSWORD_FILE: join(tls.dir, 'redis-password'),
    REDIS_TLS_CA_FILE: tls.caFile,
  });

  it('proves Redis at boot, keeps its copy and counts rate limits there, with only the commands it is granted', async () => {
    const app = await startHarness({ redisEnv: redisEnv() });
    h = app;

    const first = await h.get('/numbers/available', read);
    const refreshed = await fetch(`${h.url}/numbers/available/refresh`, {
      method: 'POST',
      headers: refresh,
    });

    expect(first.status).toBe(200);
    expect(refreshed.status).toBe(200);
    const logs = parseLogLines(app.logs);
    expect(logs).toContainEqual(
      expect.objectContaining({ msg: 'redis proven with a write and a read' }),
    );
    expect(logs.filter((l) => l.level >= 40)).toEqual([]);
    const fetchedAt = Date.parse((await readNumbers(refreshed)).meta.fetchedAt);
    const ca = (await import('node:fs')).readFileSync(tls.caFile, 'utf8');
    const as = { tls: { ca }, username: 'superfone-bff', password: 'acl-s3cret-pw' };
    await eventually(
      async () =>
        (await storedFetchedAt(node, app.keyPrefix, as)) === fetchedAt ? true : undefined,
      'the copy in Redis',
    );
    const admin = new Redis({ host: node.host, port: node.port, ...as });
    try {
      expect(Number(await admin.get(`${h.keyPrefix}rate:reader-app`))).toBeGreaterThanOrEqual(1);
    } finally {
      admin.disconnect();
    }
    expect(await readHealth(await h.get('/health/deps'))).toMatchObject({
      info: { redis: { status: 'up' } },
    });
    expect(h.logs.join('\n')).not.toContain('acl-s3cret-pw');
  });

  it('with a CA that did not sign the server: logs the failed boot probe loudly and still serves', async () => {
    const other = await makeTlsFiles();
    h = await startHarness({ redisEnv: { ...redisEnv(), REDIS_TLS_CA_FILE: other.caFile } });

    const res = await h.get('/numbers/available', read);

    expect(res.status).toBe(200);
    const failure = parseLogLines(h.logs).find((l) =>
      l.msg?.includes('failed the boot write/read probe'),
    );
    expect(failure).toMatchObject({ level: 50 });
    expect(failure?.msg).toContain('REDIS_URL is set');
  });
});
