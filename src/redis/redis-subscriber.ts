import { Inject, Injectable, OnApplicationShutdown, Optional } from '@nestjs/common';
import { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import type { RedisNodeAddress } from '../config/redis-settings';
import { AppLogger } from '../logging/app-logger';
import { RepeatedWarning } from '../logging/repeated-warning';
import {
  CONNECT_TIMEOUT_MS,
  describeTopology,
  RedisClient,
  retryStrategy,
} from './redis-client.factory';
import { errorMessage, REDIS_CLIENT } from './redis.connection';

/** What a channel's listener is told. Each callback runs synchronously; what it throws is logged, never rethrown. */
export interface ChannelListener {
  /** One message published on the channel. */
  message(text: string): void;
  /**
   * The channel is subscribed: the first time, and again after every reconnect. Whatever was
   * published while it was not subscribed is lost.
   */
  subscribed(): void;
  /** The subscription is gone with its connection; `subscribed` follows once it is back. */
  interrupted(): void;
}

/**
 * A subscribed connection runs nothing else, and is not on any request's path: it may wait longer
 * for SUBSCRIBE than a request waits for a command.
 */
const SUBSCRIBE_TIMEOUT_MS = CONNECT_TIMEOUT_MS;

/**
 * The service's pub/sub connection: one connection besides RedisConnection's client, opened when
 * the first channel is listened to, on every topology:
 * - REDIS_URL and Sentinel: a duplicate of the client (same node or sentinels, TLS, ACL user,
 *   reconnect backoff). Sentinel kills the pub/sub clients of a demoted master, so a failover
 *   reconnects it to the new master.
 * - Cluster: a plain connection to one node of the cluster, chosen among the nodes the client
 *   knows (the seeds before it knows any); PUBLISH reaches every node of a cluster. When that
 *   node goes away, another one is chosen. ioredis' own cluster subscriber (Cluster#duplicate)
 *   does the same but resubscribes silently, and a listener must know when it may have missed
 *   messages.
 *
 * Subscriptions are made again after every reconnect (ioredis' autoResubscribe is off so that
 * each one is seen), and each listener is told. Errors never leave this class: connection
 * problems are logged once per episode (RepeatedWarning), and a refused SUBSCRIBE (an ACL
 * without the channel, a slow reply) is tried again after a pause.
 */
@Injectable()
export class RedisSubscriber implements OnApplicationShutdown {
  private readonly listeners = new Map<string, ChannelListener>();
  /** Channels subscribed on the current connection (their listeners were told `subscribed`). */
  private readonly active = new Set<string>();
  private connection: Redis | undefined;
  /** Bumped on every ready and close, so that a late reply of an earlier connection is ignored. */
  private epoch = 0;
  /** Failed attempts since the last subscription, for the backoff. */
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The cluster node of the last connection, not chosen again while others are known. */
  private lastNode: string | undefined;
  private readonly host: string | undefined;
  private readonly logger: Logger;
  private readonly connectionWarning: RepeatedWarning;
  private readonly subscribeWarning: RepeatedWarning;
  private readonly listenerWarning: RepeatedWarning;

  constructor(
    @Optional() @Inject(REDIS_CLIENT) private readonly client: RedisClient | undefined,
    private readonly config: AppConfig,
    logger: AppLogger,
  ) {
    this.logger = logger.child(RedisSubscriber.name);
    const topology = config.redis.topology;
    this.host = topology ? describeTopology(topology) : undefined;
    this.connectionWarning = new RepeatedWarning(this.logger, 'redis subscriber connection error');
    this.subscribeWarning = new RepeatedWarning(this.logger, 'redis subscribe failed');
    this.listenerWarning = new RepeatedWarning(this.logger, 'a redis message listener failed');
  }

  /** True once a connection is open or being opened (never without Redis). */
  get isOpen(): boolean {
    return this.connection !== undefined;
  }

  /**
   * Subscribes to `channel` for good (until shutdown), opening the connection on first use.
   * Without Redis this does nothing: no message will come.
   */
  listen(channel: string, listener: ChannelListener): void {
    if (!this.client || this.closed) return;
    if (this.listeners.has(channel)) throw new Error(`${channel} already has a listener`);
    this.listeners.set(channel, listener);
    const connection = this.connection;
    if (!connection) this.open();
    else if (connection.status === 'ready') void this.subscribe(connection, this.epoch, [channel]);
  }

  onApplicationShutdown(): void {
    this.closed = true;
    clearTimeout(this.timer);
    const connection = this.connection;
    this.connection = undefined;
    // Nothing is pending on a subscribed connection: no QUIT to wait for.
    if (connection && connection.status !== 'end') connection.disconnect();
  }

  private open(): void {
    const client = this.client;
    if (!client || this.closed) return;
    const connection =
      client instanceof Cluster ? this.nodeConnection(client) : this.duplicate(client);
    this.connection = connection;
    connection.on('error', (error: Error) => {
      this.connectionWarning.warn({ redisHost: this.host, err: error.message });
    });
    connection.on('ready', () => {
      const epoch = ++this.epoch;
      void this.subscribe(connection, epoch, [...this.listeners.keys()]);
    });
    connection.on('message', (channel: string, text: string) => {
      const listener = this.listeners.get(channel);
      if (listener)
        this.tell(channel, () => {
          listener.message(text);
        });
    });
    connection.on('close', () => {
      this.epoch++;
      clearTimeout(this.timer);
      this.interrupt();
    });
    // A duplicate reconnects by itself and ends only when closed; a cluster node's connection ends
    // when it is lost, and another node is tried after the backoff.
    connection.once('end', () => {
      if (this.connection !== connection) return;
      this.connection = undefined;
      if (this.closed) return;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.open();
      }, retryStrategy(++this.failures)).unref();
    });
    // A failed first attempt is reported as an 'error' event, and retried (or ends, see above).
    connection.connect().catch(() => undefined);
  }

  /** REDIS_URL and Sentinel: the same client again, resubscribed by this class, not by ioredis. */
  private duplicate(client: Redis): Redis {
    return client.duplicate({
      autoResubscribe: false,
      commandTimeout: Math.max(this.config.redis.commandTimeoutMs, SUBSCRIBE_TIMEOUT_MS),
    });
  }

  /** Cluster: one node, with the options the client gives its nodes; not reconnected to the same node. */
  private nodeConnection(cluster: Cluster): Redis {
    const known: RedisNodeAddress[] = cluster
      .nodes('all')
      .map(({ options }) => ({ host: options.host ?? '', port: options.port ?? 0 }))
      .filter((node) => node.host !== '' && node.port !== 0);
    const topology = this.config.redis.topology;
    const seeds = topology?.kind === 'cluster' ? topology.nodes : [];
    const candidates = known.length > 0 ? known : seeds;
    const name = (node: RedisNodeAddress) => `${node.host}:${node.port}`;
    const others = candidates.filter((node) => name(node) !== this.lastNode);
    const pool = others.length > 0 ? others : candidates;
    // Random, so that the replicas of the service spread their subscribers over the cluster.
    const node = pool[Math.floor(Math.random() * pool.length)];
    this.lastNode = name(node);
    return new Redis({
      ...cluster.options.redisOptions,
      host: node.host,
      port: node.port,
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResubscribe: false,
      commandTimeout: Math.max(this.config.redis.commandTimeoutMs, SUBSCRIBE_TIMEOUT_MS),
      // A lost node may not come back: choose again (the 'end' handler) instead of waiting for it.
      retryStrategy: () => null,
    });
  }

  private async subscribe(connection: Redis, epoch: number, channels: string[]): Promise<void> {
    if (channels.length === 0) return;
    try {
      await connection.subscribe(...channels);
    } catch (error) {
      if (epoch !== this.epoch || this.closed) return;
      this.subscribeWarning.warn({ redisHost: this.host, err: errorMessage(error) });
      // Still connected (a lost connection subscribes again on its next 'ready'): try again later.
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (epoch === this.epoch && connection.status === 'ready')
          void this.subscribe(connection, epoch, channels);
      }, retryStrategy(++this.failures)).unref();
      return;
    }
    if (epoch !== this.epoch || this.closed) return;
    this.failures = 0;
    this.connectionWarning.recovered('redis subscriber connected again', { redisHost: this.host });
    this.subscribeWarning.recovered('redis subscribe works again', { redisHost: this.host });
    for (const channel of channels) {
      if (this.active.has(channel)) continue;
      this.active.add(channel);
      const listener = this.listeners.get(channel);
      if (listener)
        this.tell(channel, () => {
          listener.subscribed();
        });
    }
  }

  private interrupt(): void {
    for (const channel of this.active) {
      const listener = this.listeners.get(channel);
      if (listener)
        this.tell(channel, () => {
          listener.interrupted();
        });
    }
    this.active.clear();
  }

  private tell(channel: string, call: () => void): void {
    try {
      call();
    } catch (error) {
      this.listenerWarning.warn({ channel, err: errorMessage(error) });
    }
  }
}
