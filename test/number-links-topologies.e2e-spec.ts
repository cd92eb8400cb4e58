import { expect } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SuperfoneStandIn } from '../tools/superfone-stand-in/superfone-stand-in';
import { KEYS } from './support/client-keys.fixture';
import { defined } from './support/defined';
import {
  type Access,
  invalidationChannel,
  type RedisEndpoint,
  subscribersOf,
  untilAllShow,
  viewOf,
} from './support/link-replicas';
import { APP_1, APP_2, deleteLink, NUMBER, postLink } from './support/number-links';
import {
  clusterAvailable,
  makeTlsFiles,
  sentinelAvailable,
  startCluster,
  startRedisNode,
  startSentinelGroup,
  stopAllStarted,
  tlsAvailable,
} from './support/redis-topologies';
import { clusterServiceAcl, serviceAcl } from './support/service-acl';
import { Harness, startHarness, startSharedStandIn } from './support/test-app';
import { eventually } from './support/timing';

/**
 * Caches that follow a link on every production topology (docs/redis.md): two replicas of one
 * deployment on Sentinel, Cluster and TLS, each as an ACL user with exactly the service's rules.
 * One topology start per block; a block whose tool is missing is skipped, never passed.
 */

const APPS = [APP_1, APP_2];
const UNLINKED = { available: true, linkedIn: [] };
const LINKED_TO_APP_1 = { available: false, linkedIn: [APP_1] };
const FOLLOW_WITHIN_MS = 1000;
const USER = { REDIS_USERNAME: 'superfone-bff', REDIS_PASSWORD: 'topologies-acl-pw' };
const aclUser = (rules: string) => ({
  name: USER.REDIS_USERNAME,
  password: USER.REDIS_PASSWORD,
  rules,
});

interface Topology {
  /** The replicas' Redis settings. */
  readonly redisEnv: Record<string, string>;
  /** The nodes a replica's subscriber may sit on, and how the test reaches them. */
  subscriberNodes(): Promise<readonly RedisEndpoint[]>;
  readonly access: Access;
  stop(): Promise<void>;
}

afterAll(() => stopAllStarted());

function linksFollowOn(name: string, available: boolean, start: () => Promise<Topology>): void {
  (available ? describe : describe.skip)(`on ${name}`, () => {
    let topology: Topology;
    let standIn: SuperfoneStandIn;
    let replicas: Harness[] = [];

    beforeAll(async () => {
      topology = await start();
      standIn = await startSharedStandIn();
      const keyPrefix = `superfone-bff-test:${randomUUID()}:`;
      replicas = await Promise.all(
        [0, 1].map(() => startHarness({ standIn, keyPrefix, redisEnv: topology.redisEnv })),
      );
      // A replica may finish booting before its client knows the topology (a cluster's slot map).
      for (const r of replicas)
        await eventually(
          async () => ((await r.get('/health/deps')).status === 200 ? true : undefined),
          'the replica connected to Redis',
          10_000,
        );
      const channel = invalidationChannel(keyPrefix);
      await eventually(
        async () =>
          (await subscribersOf(await topology.subscriberNodes(), channel, topology.access)) === 2
            ? true
            : undefined,
        'both replicas to subscribe',
        10_000,
      );
    }, 60_000);
    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.close()));
      await standIn.stop();
      await topology.stop();
    }, 30_000);

    it('a link through one replica: the other follows within 1 s, for at most one available-numbers call; and back', async () => {
      const [a, b] = replicas;
      for (const r of replicas)
        expect(await viewOf(r, KEYS.linker, NUMBER, APPS)).toEqual(UNLINKED);

      let before = standIn.callsTo('available-numbers');
      const linked = await postLink(a, KEYS.linker, APP_1, { voipNumber: NUMBER });
      expect(linked.response.status).toBe(201);
      expect(await viewOf(a, KEYS.linker, NUMBER, APPS)).toEqual(LINKED_TO_APP_1);
      await untilAllShow([b], KEYS.linker, NUMBER, APPS, LINKED_TO_APP_1, FOLLOW_WITHIN_MS);
      expect(standIn.callsTo('available-numbers') - before).toBeLessThanOrEqual(1);

      before = standIn.callsTo('available-numbers');
      expect((await deleteLink(b, KEYS.linker, APP_1, NUMBER)).response.status).toBe(204);
      await untilAllShow([a], KEYS.linker, NUMBER, APPS, UNLINKED, FOLLOW_WITHIN_MS);
      expect(standIn.callsTo('available-numbers') - before).toBeLessThanOrEqual(1);
      // The rules granted were enough: nothing was refused.
      for (const r of replicas) expect(r.logs.join('\n')).not.toContain('NOPERM');
    });

    it('an idempotent link through one replica replays through the other without calling Superfone', async () => {
      const [a, b] = replicas;
      const key = { 'Idempotency-Key': `"topology-link-${randomUUID()}"` };
      const links = standIn.callsTo('link');
      const first = await postLink(a, KEYS.linker, APP_2, { voipNumber: NUMBER }, key);
      expect(first.response.status).toBe(201);

      const replay = await postLink(b, KEYS.linker, APP_2, { voipNumber: NUMBER }, key);

      expect(replay.response.status).toBe(201);
      expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.data).toStrictEqual(defined(first.data, 'the first answer'));
      expect(standIn.callsTo('link') - links).toBe(1);
      expect(first.data?.data).toMatchObject({
        appId: APP_2,
        voipNumber: NUMBER,
      });
    });
  });
}

linksFollowOn(
  'Redis Sentinel (a master, a replica, three sentinels)',
  sentinelAvailable(),
  async () => {
    const group = await startSentinelGroup({ aclUser: aclUser(serviceAcl()) });
    return {
      redisEnv: {
        REDIS_SENTINELS: group.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
        REDIS_SENTINEL_MASTER: group.masterName,
        ...USER,
      },
      subscriberNodes: async () => [await group.currentMaster()],
      access: {},
      stop: () => group.stop(),
    };
  },
);

linksFollowOn('Redis Cluster (3 masters, 3 replicas)', clusterAvailable(), async () => {
  const cluster = await startCluster({ aclUser: aclUser(clusterServiceAcl()) });
  return {
    redisEnv: { REDIS_CLUSTER_NODES: cluster.seeds, ...USER },
    // Each subscriber sits on one node of the cluster, any of them.
    subscriberNodes: () => Promise.resolve(cluster.nodes),
    access: {},
    stop: () => cluster.stop(),
  };
});

linksFollowOn('Redis with TLS (own CA)', tlsAvailable(), async () => {
  const tls = await makeTlsFiles();
  const node = await startRedisNode({ tls, aclUser: aclUser(serviceAcl()) });
  return {
    redisEnv: {
      REDIS_URL: `rediss://${node.host}:${node.port}`,
      REDIS_TLS_CA_FILE: tls.caFile,
      ...USER,
    },
    subscriberNodes: () => Promise.resolve([node]),
    access: { tls: { ca: readFileSync(tls.caFile) } },
    stop: () => node.stop(),
  };
});
