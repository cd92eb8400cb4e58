import { expect } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { SuperfoneStandIn } from '../tools/superfone-stand-in/superfone-stand-in';
import { parseLogLines } from './support/bodies';
import { KEYS } from './support/client-keys.fixture';
import { defined } from './support/defined';
import {
  invalidationChannel,
  nodeCommand,
  subscribersOf,
  untilAllShow,
  viewOf,
} from './support/link-replicas';
import { APP_1, APP_2, deleteLink, NUMBER, postLink } from './support/number-links';
import { type RedisNode, startRedisNode, stopAllStarted } from './support/redis-topologies';
import { redisServerAvailable } from './support/redis-server';
import { serviceAcl } from './support/service-acl';
import { Harness, startHarness, startSharedStandIn, testRedisUrl } from './support/test-app';
import { eventually } from './support/timing';

/**
 * Links and unlinks through replicas of one deployment (same Redis, same key prefix, one
 * Superfone stand-in): what a company app sees on each replica, and what Superfone sees.
 */

const APPS = [APP_1, APP_2];
const LINKED_TO_APP_1 = { available: false, linkedIn: [APP_1] };
const UNLINKED = { available: true, linkedIn: [] };
/** The bound the issue sets for the other replicas to follow a write. */
const FOLLOW_WITHIN_MS = 1000;

const suiteRedis = () => {
  const url = new URL(testRedisUrl());
  return [{ host: url.hostname, port: Number(url.port || 6379) }];
};

describe('number links through three replicas on one Redis', () => {
  let standIn: SuperfoneStandIn;
  let replicas: Harness[] = [];

  beforeEach(async () => {
    standIn = await startSharedStandIn();
    const keyPrefix = `superfone-bff-test:${randomUUID()}:`;
    replicas = await Promise.all([0, 1, 2].map(() => startHarness({ standIn, keyPrefix })));
    // Every replica listens before anything is linked: a late first subscription would drop its
    // caches anyway, but the test is about the message.
    const channel = invalidationChannel(keyPrefix);
    await eventually(
      async () => ((await subscribersOf(suiteRedis(), channel)) === 3 ? true : undefined),
      'the three replicas to subscribe',
    );
  });
  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await standIn.stop();
  });

  it('a link through one: the others follow within 1 s, the one that answered at once; an unlink through another: the reverse; one available-numbers call each', async () => {
    const [a, b, c] = replicas;
    for (const r of replicas) expect(await viewOf(r, KEYS.linker, NUMBER, APPS)).toEqual(UNLINKED);
    // The warm-up's one call (the others took its copy from Redis).
    expect(standIn.callsTo('available-numbers')).toBe(1);

    let before = standIn.callsTo('available-numbers');
    const linked = await postLink(a, KEYS.linker, APP_1, { voipNumber: NUMBER });
    expect(linked.response.status).toBe(201);
    expect(linked.data?.data.voipNumber).toBe(NUMBER);
    expect(await viewOf(a, KEYS.linker, NUMBER, APPS)).toEqual(LINKED_TO_APP_1);
    await untilAllShow([b, c], KEYS.linker, NUMBER, APPS, LINKED_TO_APP_1, FOLLOW_WITHIN_MS);
    expect(standIn.callsTo('available-numbers') - before).toBeLessThanOrEqual(1);
    expect(standIn.appOf(NUMBER)).toBe(APP_1);

    before = standIn.callsTo('available-numbers');
    const unlinked = await deleteLink(b, KEYS.linker, APP_1, NUMBER);
    expect(unlinked.response.status).toBe(204);
    expect(await viewOf(b, KEYS.linker, NUMBER, APPS)).toEqual(UNLINKED);
    await untilAllShow([a, c], KEYS.linker, NUMBER, APPS, UNLINKED, FOLLOW_WITHIN_MS);
    expect(standIn.callsTo('available-numbers') - before).toBeLessThanOrEqual(1);
    expect(standIn.appOf(NUMBER)).toBeUndefined();
    expect(standIn.callsTo('link') + standIn.callsTo('unlink')).toBe(2);
  });

  it('two clients link one number to two apps at once through two replicas: one 201, one 409 NUMBER_ALREADY_LINKED, and every replica shows the winner', async () => {
    const [a, b] = replicas;
    for (const r of replicas) expect(await viewOf(r, KEYS.linker, NUMBER, APPS)).toEqual(UNLINKED);
    // Both requests are at Superfone together: each answer waits, the state changes on arrival.
    standIn.enqueueFor('link', { kind: 'ok', delayMs: 300 }, { kind: 'ok', delayMs: 300 });

    const answers = await Promise.all([
      postLink(a, KEYS.linker, APP_1, { voipNumber: NUMBER }),
      postLink(b, KEYS.otherLinker, APP_2, { voipNumber: NUMBER }),
    ]);

    expect(answers.map((r) => r.response.status).sort()).toEqual([201, 409]);
    const loser = answers.find((r) => r.response.status === 409);
    expect(defined(loser, 'the 409').error?.code).toBe('NUMBER_ALREADY_LINKED');
    const winner = answers.findIndex((r) => r.response.status === 201);
    expect(answers[winner].data?.data.appId).toBe(APPS[winner]);
    expect(standIn.callsTo('link')).toBe(2);
    expect(standIn.appOf(NUMBER)).toBe(APPS[winner]);
    expect(APPS.map((app) => standIn.linksOf(app).length)).toEqual(
      APPS.map((app) => (app === APPS[winner] ? 1 : 0)),
    );
    await untilAllShow(
      replicas,
      KEYS.linker,
      NUMBER,
      APPS,
      { available: false, linkedIn: [APPS[winner]] },
      FOLLOW_WITHIN_MS,
    );
  });

  describe('Idempotency-Key across replicas', () => {
    const body = { voipNumber: NUMBER };

    it('the same request through another replica replays the answer without calling Superfone; another body is a 422', async () => {
      const [a, b, c] = replicas;
      const key = { 'Idempotency-Key': '"replicas-link-1"' };
      const first = await postLink(a, KEYS.linker, APP_1, body, key);
      expect(first.response.status).toBe(201);

      const replay = await postLink(b, KEYS.linker, APP_1, body, key);
      expect(replay.response.status).toBe(201);
      expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.response.headers.get('location')).toBe(first.response.headers.get('location'));
      expect(replay.data).toStrictEqual(defined(first.data, 'the first answer'));
      expect(standIn.callsTo('link')).toBe(1);

      const other = await postLink(c, KEYS.linker, APP_1, { voipNumber: '+918000000002' }, key);
      expect(other.response.status).toBe(422);
      expect(other.error?.code).toBe('IDEMPOTENCY_KEY_MISMATCH');
      expect(standIn.callsTo('link')).toBe(1);

      // Keys are per client: another client's same key is its own request.
      const otherClient = await postLink(b, KEYS.otherLinker, APP_1, body, key);
      expect(otherClient.response.status).toBe(200);
      expect(otherClient.response.headers.get('idempotent-replayed')).toBeNull();
    });

    it('while the first still runs on one replica, the same key through another is a 409 IDEMPOTENCY_KEY_IN_USE; afterwards it replays', async () => {
      const [a, b] = replicas;
      const key = { 'Idempotency-Key': '"replicas-in-flight-1"' };
      standIn.enqueueFor('link', { kind: 'ok', delayMs: 800 });

      const running = postLink(a, KEYS.linker, APP_1, body, key);
      // At Superfone, so the key is claimed (the claim comes before the handler).
      await standIn.waitForCallsTo('link', 1);
      const meanwhile = await postLink(b, KEYS.linker, APP_1, body, key);

      expect(meanwhile.response.status).toBe(409);
      expect(meanwhile.error?.code).toBe('IDEMPOTENCY_KEY_IN_USE');
      const first = await running;
      expect(first.response.status).toBe(201);
      expect(standIn.callsTo('link')).toBe(1);

      const after = await postLink(b, KEYS.linker, APP_1, body, key);
      expect(after.response.status).toBe(201);
      expect(after.response.headers.get('idempotent-replayed')).toBe('true');
      expect(after.data).toStrictEqual(defined(first.data, 'the first answer'));
      expect(standIn.callsTo('link')).toBe(1);
    });

    it('an unlink replays its 204 through another replica without calling Superfone', async () => {
      const [a, b] = replicas;
      standIn.link(APP_1, NUMBER);
      const key = { 'Idempotency-Key': '"replicas-unlink-1"' };
      const first = await deleteLink(a, KEYS.linker, APP_1, NUMBER, key);
      expect(first.response.status).toBe(204);
      const replay = await deleteLink(b, KEYS.linker, APP_1, NUMBER, key);
      expect(replay.response.status).toBe(204);
      expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
      // The client leaves a 204's body unread: read it here.
      expect(await replay.response.text()).toBe('');
      expect(standIn.callsTo('unlink')).toBe(1);
    });
  });
});

/**
 * A replica that misses the message: on a Redis of its own, each replica connects as its own ACL
 * user (with exactly the service's rules), so one can be kept from subscribing again (its user
 * disabled, its subscription killed) while another links. Deterministic: the message cannot reach
 * it. Once it is let back in, the generation it reads tells it that it missed changes.
 */
(redisServerAvailable() ? describe : describe.skip)(
  'a replica that missed the message (Redis of its own, one ACL user per replica)',
  () => {
    const users = ['replica-a', 'replica-b', 'replica-c'];
    let node: RedisNode;
    let standIn: SuperfoneStandIn;
    let replicas: Harness[] = [];
    const keyPrefix = `superfone-bff-test:${randomUUID()}:`;
    const acl = (...args: string[]) => nodeCommand(node, ['ACL', 'SETUSER', ...args]);

    beforeAll(async () => {
      node = await startRedisNode();
      for (const user of users)
        await acl(user, 'on', `>${user}-pw`, ...serviceAcl(keyPrefix).split(' '));
      standIn = await startSharedStandIn();
      replicas = await Promise.all(
        users.map((user) =>
          startHarness({
            standIn,
            keyPrefix,
            redisEnv: {
              REDIS_URL: node.url,
              REDIS_USERNAME: user,
              REDIS_PASSWORD: `${user}-pw`,
            },
          }),
        ),
      );
      await eventually(
        async () =>
          (await subscribersOf([node], invalidationChannel(keyPrefix))) === 3 ? true : undefined,
        'the three replicas to subscribe',
      );
    }, 30_000);
    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.close()));
      await standIn.stop();
      await node.stop();
      await stopAllStarted();
    });

    it('converges once it subscribes again (generation check), from the copies in Redis', async () => {
      const [a, b, c] = replicas;
      for (const r of replicas)
        expect(await viewOf(r, KEYS.linker, NUMBER, APPS)).toEqual(UNLINKED);
      // A deployment that announced changes before, and c heard them all. (Were there no
      // generation in Redis yet, c would find one of a new era: counted as lost, 'all' too.)
      const other = '+918000000002';
      const otherLinked = await postLink(b, KEYS.linker, APP_2, { voipNumber: other });
      expect(otherLinked.response.status).toBe(201);
      expect((await deleteLink(b, KEYS.linker, APP_2, other)).response.status).toBe(204);
      await untilAllShow(replicas, KEYS.linker, other, APPS, UNLINKED, FOLLOW_WITHIN_MS);
      const before = standIn.callsTo('available-numbers');

      await acl('replica-c', 'off');
      await nodeCommand(node, ['CLIENT', 'KILL', 'TYPE', 'pubsub', 'USER', 'replica-c']);
      expect(await subscribersOf([node], invalidationChannel(keyPrefix))).toBe(2);
      const linked = await postLink(a, KEYS.linker, APP_1, { voipNumber: NUMBER });
      expect(linked.response.status).toBe(201);
      await untilAllShow([a, b], KEYS.linker, NUMBER, APPS, LINKED_TO_APP_1, FOLLOW_WITHIN_MS);
      // c heard nothing: it still serves its copies from before the link.
      expect(await viewOf(c, KEYS.linker, NUMBER, APPS)).toEqual(UNLINKED);
      await eventually(
        () =>
          c.logs.some((l) => l.includes('redis subscriber connection error')) ? true : undefined,
        'c to be refused',
      );

      await acl('replica-c', 'on');
      // Its reconnect backoff (up to 2 s), then the grace for messages of the generation read (1 s).
      await untilAllShow([c], KEYS.linker, NUMBER, APPS, LINKED_TO_APP_1, 10_000);

      expect(standIn.callsTo('available-numbers') - before).toBeLessThanOrEqual(1);
      const missed = parseLogLines(c.logs).filter((l) =>
        l.msg?.startsWith('missed cache invalidation messages'),
      );
      expect(missed).toEqual([
        expect.objectContaining({ level: 40, reason: 'no message for the generation', missed: 1 }),
      ]);
      // a and b heard it (they showed the change above). On a busy machine one of them may also
      // count a miss (a periodic generation read that overtook the message by more than the 1 s
      // grace): harmless, it only drops its copies, so it is not asserted either way.
    }, 30_000);
  },
);
