import { Inject, Injectable, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppLogger } from '../logging/app-logger';
import { RepeatedWarning } from '../logging/repeated-warning';
import { Metrics } from '../metrics/metrics';
import type { RedisClient } from '../redis/redis-client.factory';
import { RedisSubscriber } from '../redis/redis-subscriber';
import { RedisConnection } from '../redis/redis.connection';
import { CacheKeys } from './cache-keys';
import {
  ANNOUNCE_SCRIPT,
  covers,
  Generation,
  parseAnnouncement,
  parseGeneration,
} from './invalidation-message';

export { type Generation, parseAnnouncement, parseGeneration } from './invalidation-message';

/** The resources a change touched (`available-numbers`, `apps`, `app-numbers:<appId>`…), or every one. */
export type ChangedResources = readonly string[] | 'all';
export type ChangeHandler = (resources: ChangedResources) => void;

export interface InvalidationBusOptions {
  /**
   * How long a generation read ahead of the messages heard waits for them before this replica
   * counts them as missed (messages race the read on another connection).
   */
  readonly graceMs?: number;
  /** How often the generation is read while subscribed, to find messages lost without a reconnect. */
  readonly checkIntervalMs?: number;
}
/** Optional InvalidationBusOptions (tests shorten the periodic check). */
export const INVALIDATION_BUS_OPTIONS = Symbol('INVALIDATION_BUS_OPTIONS');

/** Longest boot waits for the first subscription (see onModuleInit). */
const BOOT_SUBSCRIBE_WAIT_MS = 1000;
const DEFAULT_GRACE_MS = 1000;
const DEFAULT_CHECK_INTERVAL_MS = 5000;
type WithAnnounce = RedisClient & {
  superfoneBffAnnounce(key: string, channel: string, rest: string, era: string): Promise<number>;
};

/** Why a replica reported 'all', in its warning. */
type MissReason = 'generations skipped' | 'generation lost' | 'no message for the generation';

/**
 * Tells the other replicas sharing the Redis which cached resources a change made stale, and
 * tells this one what the others changed.
 *
 * Every change counts one more generation in Redis and publishes `{era, generation, resources,
 * origin}`; the replicas hear each other's messages (a replica's own were applied before it
 * announced them). A replica knows the last generation it heard. It may miss messages (its
 * subscriber reconnects, Redis loses data, a node is partitioned) and then reports 'all':
 * - after every (re)subscription it reads the generation: past the last heard and not caught up
 *   by messages within the grace period, behind it, or of another era, it missed changes;
 * - a message whose generation skips numbers follows missed ones (messages go out in order);
 * - while subscribed, the generation is read every few seconds, for losses without a reconnect.
 * The first subscription reports 'all' too: whatever was cached before it could hear nothing.
 *
 * Nothing here throws to a caller or grows with the number of messages. Without Redis there is
 * nothing to tell: announce() does nothing, and handlers are never called.
 */
@Injectable()
export class InvalidationBus implements OnModuleInit, OnApplicationShutdown {
  /** Names this process in its messages, so that it ignores its own. */
  readonly origin = randomUUID();
  private readonly handlers = new Set<ChangeHandler>();
  /**
   * The highest generation heard or read. undefined: none yet, or it could not be read after a
   * resubscription (that reported 'all'); the next read or message sets it.
   */
  private heard: Generation | undefined;
  private listening = false;
  /**
   * Subscribed again, and the generation not read yet: a message of another era then cannot tell
   * whether the end of the last one was missed.
   */
  private unverified = false;
  /** Bumped at every subscription and interruption: a read begun before one is not trusted after it. */
  private epoch = 0;
  /** Messages taken in (ours too): a generation read that some overtook is judged by them. */
  private messages = 0;
  /** A generation read ahead of `heard`, and the end of the grace its messages have to arrive. */
  private awaited: { readonly target: Generation; readonly timer: NodeJS.Timeout } | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private readonly graceMs: number;
  private readonly checkIntervalMs: number;
  private readonly logger: Logger;
  private readonly malformedWarning: RepeatedWarning;
  private readonly handlerWarning: RepeatedWarning;
  private readonly missedWarning: RepeatedWarning;

  constructor(
    private readonly redis: RedisConnection,
    private readonly subscriber: RedisSubscriber,
    private readonly keys: CacheKeys,
    private readonly metrics: Metrics,
    logger: AppLogger,
    @Optional() @Inject(INVALIDATION_BUS_OPTIONS) options: InvalidationBusOptions = {},
  ) {
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.checkIntervalMs = options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
    this.logger = logger.child(InvalidationBus.name);
    this.malformedWarning = new RepeatedWarning(
      this.logger,
      'ignored a malformed cache invalidation message',
    );
    this.handlerWarning = new RepeatedWarning(this.logger, 'a cache invalidation handler failed');
    this.missedWarning = new RepeatedWarning(
      this.logger,
      'missed cache invalidation messages: every cached list of this replica is dropped',
    );
    redis.client?.defineCommand('superfoneBffAnnounce', { numberOfKeys: 1, lua: ANNOUNCE_SCRIPT });
  }

  /**
   * Calls `handler` with the resources another replica changed, or 'all' when this replica may
   * have missed changes. Returns a function that removes it.
   */
  onChange(handler: ChangeHandler): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  /**
   * Tells the other replicas that `resources` changed. Resolves once Redis took it or failed
   * (within the Redis deadline, about twice REDIS_COMMAND_TIMEOUT_MS); never rejects: the change
   * itself has happened, and a replica that misses it finds out from the generation.
   */
  async announce(resources: readonly string[]): Promise<void> {
    const client = this.redis.client;
    if (!client || resources.length === 0) return;
    const rest = `,"resources":${JSON.stringify([...new Set(resources)])},"origin":${JSON.stringify(this.origin)}}`;
    try {
      await this.redis.run('invalidation', (c) =>
        (c as WithAnnounce).superfoneBffAnnounce(
          this.keys.invalidationGeneration,
          this.keys.invalidationChannel,
          rest,
          randomUUID(),
        ),
      );
      this.metrics.countInvalidation('sent');
    } catch {
      // Counted and logged by RedisConnection too.
      this.metrics.countInvalidation('send_failed');
    }
  }

  /**
   * Subscribes, and holds boot until the first subscription is verified (at most
   * BOOT_SUBSCRIBE_WAIT_MS, and not at all while Redis is down): its 'all' then finds the caches
   * still empty, instead of dropping the copies the first requests just loaded.
   */
  async onModuleInit(): Promise<void> {
    if (!this.redis.client) return;
    let firstVerified = (): void => undefined;
    const verified = new Promise<void>((resolve) => {
      firstVerified = resolve;
    });
    this.subscriber.listen(this.keys.invalidationChannel, {
      message: (text) => {
        this.receive(text);
      },
      subscribed: () => {
        this.listening = true;
        this.unverified = true;
        void this.verify(++this.epoch, this.heard === undefined ? 'first' : 'resubscribed').finally(
          firstVerified,
        );
      },
      interrupted: () => {
        this.listening = false;
        // What was published while away is unknown until the generation is read again. Unverified
        // from now, not only from `subscribed`: ioredis can hand over a message that came in the
        // same read as the SUBSCRIBE reply before `subscribed` is told.
        this.unverified = true;
        this.epoch++;
        this.stopAwaiting();
      },
    });
    this.checkTimer = setInterval(() => {
      if (this.listening && !this.unverified && !this.awaited && this.redis.isUsable)
        void this.verify(this.epoch, 'check');
    }, this.checkIntervalMs).unref();
    if (!this.redis.isReady) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      verified,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, BOOT_SUBSCRIBE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  onApplicationShutdown(): void {
    clearInterval(this.checkTimer);
    this.stopAwaiting();
    this.handlers.clear();
  }

  private receive(text: string): void {
    const message = parseAnnouncement(text);
    if (typeof message === 'string') {
      this.metrics.countInvalidation('malformed');
      this.malformedWarning.warn({ reason: message, channel: this.keys.invalidationChannel });
      return;
    }
    this.messages++;
    const generation: Generation = { era: message.era, n: message.generation };
    const heard = this.heard;
    if (heard !== undefined) {
      const sameEra = heard.era === generation.era;
      if (!sameEra && this.unverified) {
        this.missed(1, generation, 'generation lost');
        return;
      }
      // The first message of a new era is its generation 1.
      const before = sameEra ? heard.n : 0;
      if (generation.n > before + 1) {
        this.missed(generation.n - before - 1, generation, 'generations skipped');
        return;
      }
    }
    if (!covers(heard, generation)) this.heard = generation;
    if (this.awaited && covers(this.heard, this.awaited.target)) this.stopAwaiting();
    if (message.origin === this.origin) return;
    this.metrics.countInvalidation('received');
    this.report(message.resources);
  }

  /**
   * Reads the generation and compares it with the last one heard. `first`: nothing was heard
   * before this subscription, so 'all' is reported whatever the generation; `resubscribed`: what
   * was published before this subscription is lost, and a read that fails counts as a miss too;
   * `check`: the periodic read while subscribed.
   */
  private async verify(epoch: number, why: 'first' | 'resubscribed' | 'check'): Promise<void> {
    const messagesBefore = this.messages;
    let current: Generation | undefined;
    try {
      const stored = await this.redis.run('invalidation', (client) =>
        client.get(this.keys.invalidationGeneration),
      );
      current = parseGeneration(stored);
    } catch {
      // Counted and logged by RedisConnection.
    }
    if (epoch !== this.epoch) return;
    this.unverified = false;
    if (current === undefined) {
      if (why === 'check') return;
      // Cannot tell what was missed while unsubscribed; from now on messages arrive.
      this.heard = undefined;
      this.stopAwaiting();
      this.missedWarning.warn({ reason: 'generation unreadable' });
      this.report('all');
      return;
    }
    const heard = this.heard;
    // Messages taken in while the read was on its way were published after this subscription,
    // and receive() checked them against what came before (a gap, or another era while
    // unverified, is a loss there). A read they overtook (it left first, on the other connection,
    // and its reply was handled after them) is behind them or of the era they replaced: it says
    // nothing more, and taken for the present it would count their changes as lost. Only a read
    // ahead of them in their era tells of messages still on their way.
    if (
      this.messages !== messagesBefore &&
      heard !== undefined &&
      !(heard.era === current.era && current.n > heard.n)
    ) {
      if (why === 'first') this.report('all');
      return;
    }
    if (why === 'first' || heard === undefined) {
      // A message may have come in during the read.
      if (!covers(heard, current)) this.heard = current;
      this.stopAwaiting();
      if (why !== 'check') this.report('all');
    } else if (
      heard.era === current.era ? current.n < heard.n : why === 'resubscribed' || current.n === 0
    ) {
      // Redis lost the generation (a restart without persistence, a flush) or some of it (a
      // failover to a replica that had not seen every change): what was missed cannot be told.
      // A new era found while subscribed throughout is only waited for: its messages were heard.
      this.missed(1, current, 'generation lost');
    } else if (!covers(heard, current)) {
      this.waitFor(current);
    }
  }

  /** Messages up to `target` were published: they have the grace period to arrive. */
  private waitFor(target: Generation): void {
    if (this.awaited && covers(this.awaited.target, target)) return;
    this.stopAwaiting();
    const epoch = this.epoch;
    const timer = setTimeout(() => {
      // setImmediate: a message already read from the socket is handled before the verdict, even
      // after the event loop was blocked past the grace period.
      setImmediate(() => {
        if (this.awaited?.timer !== timer) return;
        this.awaited = undefined;
        const heard = this.heard;
        if (epoch !== this.epoch || covers(heard, target)) return;
        const messages = heard?.era === target.era ? target.n - heard.n : target.n;
        this.missed(messages, target, 'no message for the generation');
      });
    }, this.graceMs).unref();
    this.awaited = { target, timer };
  }

  private stopAwaiting(): void {
    if (this.awaited) clearTimeout(this.awaited.timer);
    this.awaited = undefined;
  }

  private missed(messages: number, generation: Generation, reason: MissReason): void {
    this.stopAwaiting();
    this.heard = generation;
    this.metrics.countInvalidation('missed', messages);
    this.missedWarning.warn({ reason, missed: messages });
    this.report('all');
  }

  private report(resources: ChangedResources): void {
    for (const handler of this.handlers) {
      try {
        handler(resources);
      } catch (error) {
        this.handlerWarning.warn({ err: error instanceof Error ? error.message : String(error) });
      }
    }
  }
}
