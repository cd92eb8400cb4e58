import type { RedisOptions } from 'ioredis';
import { CacheKeys } from '../../src/cache/cache-keys';
import { availableOn, linkedOn } from './number-links';
import { redisCommand } from './redis-command';
import { type Harness, SERVER_KEY } from './test-app';

/**
 * Replicas of one deployment seen from outside while numbers are linked and unlinked: what each
 * one answers about a number, and who listens on the invalidation channel.
 */

/** What a replica answers about one number: listed as available, and the apps that list it. */
export interface NumberView {
  readonly available: boolean;
  readonly linkedIn: readonly string[];
}

/** GET /numbers/available and GET /apps/{app}/numbers for each of `apps`, on `h` now. */
export async function viewOf(
  h: Pick<Harness, 'url'>,
  key: string,
  voipNumber: string,
  apps: readonly string[],
): Promise<NumberView> {
  const [available, ...lists] = await Promise.all([
    availableOn(h, key),
    ...apps.map((app) => linkedOn(h, key, app)),
  ]);
  return {
    available: available.includes(voipNumber),
    linkedIn: apps.filter((_, i) => lists[i].includes(voipNumber)),
  };
}

/**
 * Polls every replica until each answers `expected` about the number; rejects after `timeoutMs`
 * with what each answered last. No sleep stands in for the wait: the deadline is the bound.
 */
export async function untilAllShow(
  replicas: readonly Pick<Harness, 'url'>[],
  key: string,
  voipNumber: string,
  apps: readonly string[],
  expected: NumberView,
  timeoutMs: number,
): Promise<void> {
  const wanted = JSON.stringify(expected);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(replicas.map((r) => viewOf(r, key, voipNumber, apps)));
    if (views.every((v) => JSON.stringify(v) === wanted)) return;
    if (Date.now() > deadline)
      throw new Error(
        `within ${timeoutMs} ms the replicas did not all show ${wanted}; last: ${JSON.stringify(views)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The channel the replicas of a deployment under `prefix` announce their changes on. */
export function invalidationChannel(prefix: string): string {
  return new CacheKeys(prefix, SERVER_KEY).invalidationChannel;
}

export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
}

/** How the test itself talks to a topology's nodes (TLS CA, an admin user). */
export type Access = Pick<RedisOptions, 'tls' | 'username' | 'password'>;

/** One command on a short-lived connection to one node. */
export function nodeCommand(
  node: RedisEndpoint,
  args: (string | number)[],
  access: Access = {},
): Promise<unknown> {
  return redisCommand({ host: node.host, port: node.port }, args, access);
}

/**
 * Subscribers of `channel` over `nodes` (PUBSUB NUMSUB counts one node's own: on a cluster each
 * replica's subscriber sits on one node, so every node is asked).
 */
export async function subscribersOf(
  nodes: readonly RedisEndpoint[],
  channel: string,
  access: Access = {},
): Promise<number> {
  const counts = await Promise.all(
    nodes.map(async (node) => {
      // [channel, count]
      const reply = (await nodeCommand(node, ['PUBSUB', 'NUMSUB', channel], access)) as unknown[];
      return Number(reply[1]);
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}
