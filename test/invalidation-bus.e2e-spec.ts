import { expect } from '@jest/globals';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { ChangedResources } from '../src/cache/invalidation-bus';
import { freePort } from '../tools/free-port';
import { BusReplica, redisCommand, startBusReplica } from './support/invalidation-bus-harness';
import { startOwnedRedis } from './support/redis-server';
import {
  clusterAvailable,
  makeTlsFiles,
  type RedisClusterTopology,
  type RedisNode,
  type SentinelGroup,
  sentinelAvailable,
  startCluster,
  startRedisNode,
  startSentinelGroup,
  stopAllStarted,
  tlsAvailable,
} from './support/redis-topologies';
import { defined } from './support/defined';
import { deleteKeys, testRedisUrl } from './support/test-app';
import { eventually } from './support/timing';

/**
 * The cache invalidation bus between replicas, on real Redis: each replica's bus runs in a real
 * Nest context (config, logger, metrics, RedisModule) and reports what it hears to a handler that
 * records it. The first report of every bus is 'all' (its first subscription).
 */

const newPrefix = () => `superfone-bff-test:${randomUUID()}:`;

/** Resolves once `replica` reported exactly `resources`. */
async function heard(replica: BusReplica, resources: ChangedResources, what = ''): Promise<void> {
  const wanted = JSON.stringify(resources);
  await eventually(
    () => (replica.events.some((e) => JSON.stringify(e) === wanted) ? true : undefined),
    `a replica to hear ${wanted}${what ? ` (${what})` : ''}`,
    10_000,
  );
}

/** Rejects when `promise` has not settled within `ms`: a deadline, generous, for "does not hang". */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`${what} did not settle within ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

afterAll(() => stopAllStarted());

describe('on one Redis node (REDIS_URL)', () => {
  const prefix = newPrefix();
  const replicas: BusReplica[] = [];
  const others: BusReplica[] = [];

  beforeAll(async () => {
    replicas.push(
      ...(await Promise.all(
        [0, 1, 2].map(() => startBusReplica(prefix, { REDIS_URL: testRedisUrl() })),
      )),
    );
    await Promise.all(replicas.map((r) => r.listening()));
  });
  afterAll(async () => {
    await Promise.all([...replicas, ...others].map((r) => r.close()));
    await deleteKeys(testRedisUrl(), prefix);
  });

  it('a change announced by one replica reaches the others, and not itself', async () => {
    const [a, b, c] = replicas;
    const wire = new Redis(testRedisUrl(), { maxRetriesPerRequest: 0 });
    const messages: string[] = [];
    wire.on('message', (_channel: string, text: string) => messages.push(text));
    try {
      await wire.subscribe(a.keys.invalidationChannel);

      await a.bus.announce(['available-numbers', 'app-numbers:app-1', 'available-numbers']);
      await b.bus.announce(['apps']);
      await c.bus.announce(['app-numbers:app-2']);
      await a.bus.announce(['available-numbers']);
      await heard(a, ['app-numbers:app-2']);
      await heard(b, ['available-numbers']);
      await heard(c, ['available-numbers']);
      await eventually(() => (messages.length === 4 ? true : undefined), 'the 4 messages');
    } finally {
      wire.disconnect();
    }

    expect(a.events).toEqual(['all', ['apps'], ['app-numbers:app-2']]);
    expect(b.events).toEqual([
      'all',
      ['available-numbers', 'app-numbers:app-1'],
      ['app-numbers:app-2'],
      ['available-numbers'],
    ]);
    expect(c.events).toEqual([
      'all',
      ['available-numbers', 'app-numbers:app-1'],
      ['apps'],
      ['available-numbers'],
    ]);
    // What crosses the wire, and the generation Redis keeps: one era, four changes.
    const first = JSON.parse(messages[0]) as Record<string, unknown>;
    expect(first).toEqual({
      era: expect.stringMatching(/^[0-9a-f-]{36}$/),
      generation: 1,
      resources: ['available-numbers', 'app-numbers:app-1'],
      origin: a.bus.origin,
    });
    expect(messages.map((m) => (JSON.parse(m) as { generation: number }).generation)).toEqual([
      1, 2, 3, 4,
    ]);
    expect(await redisCommand(testRedisUrl(), ['GET', a.keys.invalidationGeneration])).toBe(
      `${String(first.era)}:4`,
    );
    expect(a.keys.invalidationChannel).toMatch(/^superfone-bff-test:[^:]+:\{[0-9a-f]{16}\}:/);
    expect([await a.count('sent'), await a.count('received')]).toEqual([2, 2]);
    expect([await b.count('sent'), await b.count('received')]).toEqual([1, 3]);
    for (const r of replicas) expect(await r.count('missed')).toBe(0);
  });

  it('deployments with another key prefix or another Superfone key never hear it', async () => {
    const [a] = replicas;
    const otherPrefix = newPrefix();
    const otherKey = { SUPERFONE_API_KEY: 'sf-another-server-key-0000000000000000' };
    others.push(
      ...(await Promise.all([
        startBusReplica(otherPrefix, { REDIS_URL: testRedisUrl() }),
        startBusReplica(otherPrefix, { REDIS_URL: testRedisUrl() }),
        startBusReplica(prefix, { REDIS_URL: testRedisUrl(), ...otherKey }),
        startBusReplica(prefix, { REDIS_URL: testRedisUrl(), ...otherKey }),
      ])),
    );
    const [d, e, f, g] = others;
    await Promise.all(others.map((r) => r.listening()));
    try {
      await a.bus.announce(['available-numbers']);
      // Published after a's: were d or f subscribed to a's channel, a's message would come first.
      await e.bus.announce(['from-e']);
      await g.bus.announce(['from-g']);
      await heard(d, ['from-e']);
      await heard(f, ['from-g']);

      expect(d.events).toEqual(['all', ['from-e']]);
      expect(f.events).toEqual(['all', ['from-g']]);
      expect(new Set(others.map((r) => r.keys.invalidationChannel)).size).toBe(2);
      expect(d.keys.invalidationChannel).not.toBe(a.keys.invalidationChannel);
      expect(f.keys.invalidationChannel).not.toBe(a.keys.invalidationChannel);
    } finally {
      await deleteKeys(testRedisUrl(), otherPrefix);
    }
  });

  it('ignores malformed messages with one summarized warning, and keeps listening', async () => {
    const [a, b] = replicas;
    const garbage = [
      'not json',
      'null',
      '[]',
      JSON.stringify({ era: 'e', generation: '9', resources: ['x'], origin: 'o' }),
      JSON.stringify({ era: 'e', generation: 9, resources: [], origin: 'o' }),
      JSON.stringify({ era: 'e', generation: 9, resources: ['x'] }),
      JSON.stringify({ era: 'e"}', generation: 9, resources: ['x'], origin: 'o' }),
      JSON.stringify({ era: 'e', generation: 9, resources: ['x'.repeat(300)], origin: 'o' }),
      'x'.repeat(20_000),
    ];
    const before = b.events.length;
    const malformedBefore = await b.count('malformed');
    for (const text of garbage)
      await redisCommand(testRedisUrl(), ['PUBLISH', b.keys.invalidationChannel, text]);
    await a.bus.announce(['after-garbage']);
    await heard(b, ['after-garbage']);

    expect(b.events.slice(before)).toEqual([['after-garbage']]);
    expect((await b.count('malformed')) - malformedBefore).toBe(garbage.length);
    expect(b.logged('ignored a malformed cache invalidation message')).toEqual([
      expect.objectContaining({ level: 40, reason: 'not JSON' }),
    ]);
    expect(await b.count('missed')).toBe(0);
  });
  it('a message whose generation skips numbers follows missed ones: every replica reports "all"', async () => {
    const [a, b, c] = replicas;
    const key = a.keys.invalidationGeneration;
    const [era, n] = String(await redisCommand(testRedisUrl(), ['GET', key])).split(':');
    const marks = replicas.map((r) => r.events.length);
    // A change counted whose message nobody heard, then a's next one.
    await redisCommand(testRedisUrl(), ['SET', key, `${era}:${Number(n) + 1}`]);
    await a.bus.announce(['available-numbers']);
    await eventually(
      () => (replicas.every((r, i) => r.events.length > marks[i]) ? true : undefined),
      'every replica to report',
    );

    // a too: its own message tells it that it missed one.
    for (const [i, r] of replicas.entries()) expect(r.events.slice(marks[i])).toEqual(['all']);
    for (const r of [b, c])
      expect(r.logged('missed cache invalidation messages')).toEqual([
        expect.objectContaining({ level: 40, reason: 'generations skipped', missed: 1 }),
      ]);
  });
});

describe('changes lost without a reconnect', () => {
  const prefix = newPrefix();
  let a: BusReplica | undefined;
  let b: BusReplica | undefined;
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await deleteKeys(testRedisUrl(), prefix);
  });

  it('the periodic read finds a generation no message came for, or one that went back', async () => {
    const fast = { checkIntervalMs: 100, graceMs: 200 };
    a = await startBusReplica(prefix, { REDIS_URL: testRedisUrl() }, fast);
    b = await startBusReplica(prefix, { REDIS_URL: testRedisUrl() }, fast);
    await Promise.all([a.listening(), b.listening()]);
    await a.bus.announce(['available-numbers']);
    await heard(b, ['available-numbers']);
    const key = b.keys.invalidationGeneration;
    const stored = String(await redisCommand(testRedisUrl(), ['GET', key]));
    const era = stored.split(':')[0];

    // A change counted whose message never came (a publish lost in a partition, say).
    await redisCommand(testRedisUrl(), ['SET', key, `${era}:2`]);
    await eventually(() => (b?.events.length === 3 ? true : undefined), 'b to report the miss');
    expect(b.events).toEqual(['all', ['available-numbers'], 'all']);
    expect(await b.count('missed')).toBe(1);

    // Redis lost the key (FLUSHALL, a restart without persistence): a new era starts at 1.
    await redisCommand(testRedisUrl(), ['DEL', key]);
    await eventually(() => (b?.events.length === 4 ? true : undefined), 'b to report the loss');
    await a.bus.announce(['apps']);
    await heard(b, ['apps']);
    expect(b.events).toEqual(['all', ['available-numbers'], 'all', 'all', ['apps']]);
    expect(await b.count('missed')).toBe(2);
  });
});

describe('on a node of its own, as ACL users with only the commands the service sends', () => {
  let node: RedisNode;
  const prefix = newPrefix();
  const replicas: BusReplica[] = [];
  const users = ['replica-a', 'replica-b'];
  // The boot probe, the ready check, the Lua script and what it runs, the subscription.
  const rules = `resetchannels &${prefix}* ~${prefix}* -@all +get +set +del +ping +info +evalsha +eval +publish +subscribe`;
  const env = (user: string) => ({
    REDIS_URL: node.url,
    REDIS_USERNAME: user,
    REDIS_PASSWORD: `${user}-pw`,
  });
  const acl = async (...args: string[]) => redisCommand(node.url, ['ACL', 'SETUSER', ...args]);
  const subscribers = async () =>
    (
      (await redisCommand(node.url, [
        'PUBSUB',
        'NUMSUB',
        replicas[0].keys.invalidationChannel,
      ])) as [string, number]
    )[1];

  beforeAll(async () => {
    node = await startRedisNode();
    for (const user of users) await acl(user, 'on', `>${user}-pw`, ...rules.split(' '));
    replicas.push(...(await Promise.all(users.map((user) => startBusReplica(prefix, env(user))))));
    await Promise.all(replicas.map((r) => r.listening()));
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await node.stop();
  });

  it('a killed subscription comes back on its own; a change made while it was away comes back as "all"', async () => {
    const [a, b] = replicas;
    await a.bus.announce(['r1']);
    await heard(b, ['r1']);

    // Killed, back at once: nothing was missed.
    let mark = b.events.length;
    await redisCommand(node.url, ['CLIENT', 'KILL', 'TYPE', 'pubsub', 'USER', 'replica-b']);
    await eventually(async () => ((await subscribers()) === 2 ? true : undefined), 'b back');
    await a.bus.announce(['r2']);
    await heard(b, ['r2']);
    expect(b.events.slice(mark)).toEqual([['r2']]);

    // Killed and kept out (its user disabled) while a announces a change.
    mark = b.events.length;
    await acl('replica-b', 'off');
    await redisCommand(node.url, ['CLIENT', 'KILL', 'TYPE', 'pubsub', 'USER', 'replica-b']);
    await a.bus.announce(['r3']);
    expect(await a.count('sent')).toBe(3);
    // Let it try and be refused (a warning), then let it in.
    await eventually(
      () => (b.logged('redis subscriber connection error').length > 0 ? true : undefined),
      'b to be refused',
    );
    await acl('replica-b', 'on');
    await eventually(
      () => (b.events.length > mark ? true : undefined),
      'b to report after it subscribed again',
      15_000,
    );
    expect(b.events.slice(mark)).toEqual(['all']);
    expect(await b.count('missed')).toBe(1);
    await a.bus.announce(['r4']);
    await heard(b, ['r4']);
    expect(b.events.slice(mark)).toEqual(['all', ['r4']]);
    expect(b.logged('redis subscriber connection error')).toEqual([
      expect.objectContaining({ level: 40, err: expect.stringMatching(/WRONGPASS|disabled/) }),
    ]);
    expect(b.logged('missed cache invalidation messages')).toEqual([
      expect.objectContaining({ level: 40, reason: 'no message for the generation', missed: 1 }),
    ]);
  });

  it('a paused Redis: announce resolves within the Redis deadline and counts the failure', async () => {
    const [a] = replicas;
    node.pause();
    try {
      await within(a.bus.announce(['while-paused']), 2000, 'announce to a paused Redis');
    } finally {
      node.resume();
    }
    expect(await a.count('send_failed')).toBe(1);
  });
});

describe('a Redis restarted without its data', () => {
  const prefix = newPrefix();
  const replicas: BusReplica[] = [];
  let stop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await stop?.();
  });

  it('every replica reports "all" once subscribed again, even when the count climbs back to what it heard', async () => {
    const redis = await startOwnedRedis();
    stop = () => redis.stop();
    replicas.push(
      ...(await Promise.all([0, 1].map(() => startBusReplica(prefix, { REDIS_URL: redis.url })))),
    );
    const [a, b] = replicas;
    await Promise.all(replicas.map((r) => r.listening()));
    await a.bus.announce(['r1']);
    await heard(b, ['r1']);
    const marks = replicas.map((r) => r.events.length);

    await redis.stop();
    await redis.start();
    // The first change after the restart is generation 1 again, as r1 was: its era tells them apart.
    await eventually(
      async () => {
        await a.bus.announce(['r2']);
        return (await a.count('sent')) === 2 ? true : undefined;
      },
      'an announcement to the restarted Redis',
      10_000,
    );
    await eventually(
      () => (replicas.every((r, i) => r.events.length > marks[i]) ? true : undefined),
      'both replicas to report after the restart',
      // Reconnect backoff (up to 2 s) and a fresh subscription; generous for a busy CI machine.
      20_000,
    );
    // a's own r2 is not reported; b heard it, or missed it while it was away: 'all' covers it.
    expect(a.events.slice(marks[0])).toEqual(['all']);
    expect(b.events.slice(marks[1])[0]).toBe('all');
    expect(b.events.slice(marks[1]).filter((e) => e === 'all')).toHaveLength(1);
    // 'generation lost', or 'generation unreadable' when its own connection was not back yet.
    expect(a.logged('missed cache invalidation messages')).toHaveLength(1);
    await a.bus.announce(['r3']);
    await heard(b, ['r3']);
  });
});

describe('without a reachable Redis', () => {
  it('announce resolves at once without throwing; the subscriber keeps trying and says so once', async () => {
    const port = await freePort();
    const replica = await startBusReplica(newPrefix(), { REDIS_URL: `redis://127.0.0.1:${port}` });
    try {
      await within(replica.bus.announce(['available-numbers']), 1000, 'announce without Redis');
      expect(await replica.count('send_failed')).toBe(1);
      await eventually(
        () => (replica.logged('redis subscriber connection error').length > 0 ? true : undefined),
        'the subscriber to report its connection error',
      );
      expect(replica.logged('redis subscriber connection error')).toEqual([
        expect.objectContaining({ level: 40, err: expect.stringContaining('ECONNREFUSED') }),
      ]);
      expect(replica.events).toEqual([]);
    } finally {
      await replica.close();
    }
  });

  it('without Redis configured there is no subscriber, and nothing to announce to', async () => {
    const replica = await startBusReplica(newPrefix(), {});
    try {
      await replica.bus.announce(['available-numbers']);
      expect(replica.subscriber.isOpen).toBe(false);
      expect(await replica.count('sent')).toBe(0);
      expect(await replica.count('send_failed')).toBe(0);
      expect(replica.events).toEqual([]);
    } finally {
      await replica.close();
    }
  });
});

(sentinelAvailable() ? describe : describe.skip)(
  'on Redis Sentinel (a master, a replica, three sentinels)',
  () => {
    let group: SentinelGroup | undefined;
    const prefix = newPrefix();
    const replicas: BusReplica[] = [];

    beforeAll(async () => {
      group = await startSentinelGroup();
      const env = {
        REDIS_SENTINELS: group.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
        REDIS_SENTINEL_MASTER: group.masterName,
      };
      replicas.push(...(await Promise.all([0, 1].map(() => startBusReplica(prefix, env)))));
      await Promise.all(replicas.map((r) => r.listening()));
    }, 60_000);
    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.close()));
      await group?.stop();
    }, 30_000);

    it('messages cross replicas, through a failover and the death of the node a subscriber was on', async () => {
      const sentinels = defined(group, 'the sentinel group');
      const [a, b] = replicas;
      await a.bus.announce(['before-failover']);
      await heard(b, ['before-failover']);

      const demoted = sentinels.nodes[0];
      const promoted = await sentinels.failover();
      // Sentinel drops the normal clients of the demoted master, not the pub/sub ones: a
      // subscriber may stay on it, now a replica, and hear what the new master replicates.
      const subscribers = async (node: { host: string; port: number }) =>
        Number(
          (
            (await redisCommand(`redis://${node.host}:${node.port}`, [
              'PUBSUB',
              'NUMSUB',
              a.keys.invalidationChannel,
            ])) as unknown[]
          )[1],
        );
      await eventually(
        async () =>
          (await subscribers(demoted)) + (await subscribers(promoted)) === 2 ? true : undefined,
        'both subscribers subscribed after the failover',
        15_000,
      );
      const mark = b.events.length;
      // a's own connection may still be on its way to the new master.
      await eventually(
        async () => {
          await a.bus.announce(['after-failover']);
          return (await a.count('sent')) >= 2 ? true : undefined;
        },
        'an announcement through the promoted master',
        15_000,
      );
      await heard(b, ['after-failover']);
      expect(new Set(b.events.slice(mark).map((e) => JSON.stringify(e)))).toEqual(
        new Set(['["after-failover"]']),
      );

      // The demoted node dies: the subscribers on it ask the sentinels for the master.
      await demoted.kill();
      await eventually(
        async () => ((await subscribers(promoted)) === 2 ? true : undefined),
        'both subscribers on the promoted master',
        15_000,
      );
      await a.bus.announce(['after-the-replica-died']);
      await heard(b, ['after-the-replica-died']);
      expect(await b.count('missed')).toBe(0);
    }, 60_000);
  },
);

(clusterAvailable() ? describe : describe.skip)('on Redis Cluster (3 masters, 3 replicas)', () => {
  let cluster: RedisClusterTopology | undefined;
  const prefix = newPrefix();
  const replicas: BusReplica[] = [];
  const users = ['replica-a', 'replica-b', 'replica-c'];
  const rules = `resetchannels &${prefix}* ~${prefix}* -@all +get +set +del +ping +info +evalsha +eval +publish +subscribe +cluster|slots +cluster|info`;
  const nodeUrl = (node: { host: string; port: number }) => `redis://${node.host}:${node.port}`;
  /** Runs `args` on every node still alive. */
  const everyNode = async (args: string[]) => {
    const nodes = defined(cluster, 'the cluster').nodes;
    return Promise.all(
      nodes.map((node) => redisCommand(nodeUrl(node), args).catch((error: unknown) => error)),
    );
  };
  /** The nodes that hold a pub/sub connection of `user`. */
  const subscriberNodes = async (user: string) => {
    const nodes = defined(cluster, 'the cluster').nodes;
    const lists = await everyNode(['CLIENT', 'LIST', 'TYPE', 'pubsub']);
    return nodes.filter(
      (_, i) => typeof lists[i] === 'string' && lists[i].includes(` user=${user} `),
    );
  };

  beforeAll(async () => {
    cluster = await startCluster();
    for (const user of users)
      await everyNode(['ACL', 'SETUSER', user, 'on', `>${user}-pw`, ...rules.split(' ')]);
    const seeds = cluster.seeds;
    replicas.push(
      ...(await Promise.all(
        users.map((user) =>
          startBusReplica(prefix, {
            REDIS_CLUSTER_NODES: seeds,
            REDIS_USERNAME: user,
            REDIS_PASSWORD: `${user}-pw`,
          }),
        ),
      )),
    );
    await Promise.all(replicas.map((r) => r.listening()));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await cluster?.stop();
  }, 30_000);

  it('a change reaches every other replica, whichever node each subscriber chose', async () => {
    const [a, b, c] = replicas;
    for (const user of users) expect(await subscriberNodes(user)).toHaveLength(1);
    await a.bus.announce(['available-numbers', 'app-numbers:app-1']);
    await heard(b, ['available-numbers', 'app-numbers:app-1']);
    await heard(c, ['available-numbers', 'app-numbers:app-1']);
    await b.bus.announce(['apps']);
    await heard(a, ['apps']);
    await heard(c, ['apps']);
    expect(a.events).toEqual(['all', ['apps']]);
  });

  it('a subscriber kept out while a change is announced reports "all" once it is back', async () => {
    const [a, b, c] = replicas;
    const mark = b.events.length;
    await everyNode(['ACL', 'SETUSER', 'replica-b', 'off']);
    await everyNode(['CLIENT', 'KILL', 'TYPE', 'pubsub', 'USER', 'replica-b']);
    await a.bus.announce(['while-b-is-away']);
    await heard(c, ['while-b-is-away']);
    await eventually(
      () => (b.logged('redis subscriber connection error').length > 0 ? true : undefined),
      'b to be refused',
    );
    await everyNode(['ACL', 'SETUSER', 'replica-b', 'on']);
    await eventually(
      () => (b.events.length > mark ? true : undefined),
      'b to report after it subscribed again',
      15_000,
    );
    expect(b.events.slice(mark)).toEqual(['all']);
    expect(await b.count('missed')).toBe(1);
  }, 30_000);

  it('the node under a subscriber dies: it subscribes on another node and hears the next change', async () => {
    const [a, b] = replicas;
    const [under] = await subscriberNodes('replica-b');
    const mark = b.events.length;
    const sentBefore = await a.count('sent');
    await under.kill();
    await eventually(
      async () => ((await subscriberNodes('replica-b')).length === 1 ? true : undefined),
      'b subscribed on a node still alive',
      20_000,
    );
    // Should the dead node have been a master, the cluster fails over first.
    await eventually(
      async () => {
        await a.bus.announce(['after-the-node-died']);
        return (await a.count('sent')) > sentBefore ? true : undefined;
      },
      'an announcement once the cluster is whole',
      20_000,
    );
    await heard(b, ['after-the-node-died']);
    // While the cluster failed over, b may not have read the generation: then it reported 'all'.
    expect(
      b.events
        .slice(mark)
        .filter((e) => e !== 'all' && JSON.stringify(e) !== '["after-the-node-died"]'),
    ).toEqual([]);
  }, 60_000);
});

/** Two replicas on `env`: one announces, the other hears it, and they close. */
async function crossOnce(env: Record<string, string>): Promise<void> {
  const prefix = newPrefix();
  const replicas = await Promise.all([0, 1].map(() => startBusReplica(prefix, env)));
  try {
    const [a, b] = replicas;
    await Promise.all(replicas.map((r) => r.listening()));
    await a.bus.announce(['available-numbers']);
    await heard(b, ['available-numbers']);
    expect(b.events).toEqual(['all', ['available-numbers']]);
    expect(a.events).toEqual(['all']);
  } finally {
    await Promise.all(replicas.map((r) => r.close()));
  }
}

(tlsAvailable() ? describe : describe.skip)('over TLS (rediss://), as an ACL user', () => {
  it('a change crosses from one replica to the other', async () => {
    const tls = await makeTlsFiles();
    const rules = `resetchannels &superfone-bff-test:* ~superfone-bff-test:* -@all +get +set +del +ping +info +evalsha +eval +publish +subscribe`;
    const node = await startRedisNode({
      tls,
      aclUser: { name: 'superfone-bff', password: 'tls-acl-pw', rules },
    });
    try {
      await crossOnce({
        REDIS_URL: node.url,
        REDIS_USERNAME: 'superfone-bff',
        REDIS_PASSWORD: 'tls-acl-pw',
        REDIS_TLS_CA_FILE: tls.caFile,
      });
    } finally {
      await node.stop();
    }
  }, 30_000);
});

(tlsAvailable() && clusterAvailable() ? describe : describe.skip)(
  'on a Redis Cluster over TLS (the subscriber connects to a node with the cluster’s TLS settings)',
  () => {
    it('a change crosses from one replica to the other', async () => {
      const tls = await makeTlsFiles();
      const cluster = await startCluster({ tls });
      try {
        await crossOnce({
          REDIS_CLUSTER_NODES: cluster.seeds,
          REDIS_TLS: 'true',
          REDIS_TLS_CA_FILE: tls.caFile,
        });
      } finally {
        await cluster.stop();
      }
    }, 60_000);
  },
);
