import { Inject, Injectable, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { RepeatedWarning } from '../logging/repeated-warning';
import { Metrics } from '../metrics/metrics';
import { describeTopology, RedisClient } from './redis-client.factory';
import { RedisGate, RedisUnavailableError } from './redis-gate';

/** How long boot waits for a configured Redis before carrying on without it. */
const BOOT_CONNECT_TIMEOUT_MS = 2000;

/** What the service was doing with Redis, for metrics and log lines. */
export type RedisOperation =
  'cache_read' | 'cache_write' | 'lock' | 'rate_limit' | 'idempotency' | 'health' | 'invalidation';

/**
 * The service's one Redis client (cache store, refresh lock, rate limits, idempotency records,
 * health), or none when no topology is configured. Every command goes through `run()`, which
 * applies RedisGate's grey-failure rules, counts failures and logs them summarized. ioredis keeps
 * reconnecting in the background, so a Redis that comes back is used again without a restart.
 */
/** The ioredis client RedisModule builds for the configured topology (undefined without one). */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

@Injectable()
export class RedisConnection implements OnModuleInit, OnApplicationShutdown {
  /** Where Redis is, safe to log. */
  readonly host: string | undefined;
  private readonly gate: RedisGate;
  private readonly logger: Logger;
  private readonly connectionWarning: RepeatedWarning;
  private readonly commandWarning: RepeatedWarning;

  constructor(
    @Optional() @Inject(REDIS_CLIENT) readonly client: RedisClient | undefined,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    logger: AppLogger,
  ) {
    this.logger = logger.child(RedisConnection.name);
    const settings = config.redis;
    this.gate = new RedisGate(settings.commandTimeoutMs);
    this.host = settings.topology ? describeTopology(settings.topology) : undefined;
    this.connectionWarning = new RepeatedWarning(this.logger, 'redis connection error');
    this.commandWarning = new RepeatedWarning(this.logger, 'redis command failed');
    this.client?.on('error', (error: Error) => {
      this.connectionWarning.warn({ redisHost: this.host, err: error.message });
    });
    this.client?.on('ready', () => {
      this.connectionWarning.recovered('redis connection ready', { redisHost: this.host });
    });
  }

  /** The setting that configured Redis, for messages an operator acts on. */
  private get setting(): string {
    return { url: 'REDIS_URL', sentinel: 'REDIS_SENTINELS', cluster: 'REDIS_CLUSTER_NODES' }[
      this.config.redis.topology?.kind ?? 'url'
    ];
  }

  get isReady(): boolean {
    return this.client?.status === 'ready';
  }

  /** True when commands would be sent now (connected, and not paused after timeouts). */
  get isUsable(): boolean {
    return this.isReady && !this.gate.paused;
  }

  /**
   * Runs one Redis command under the grey-failure rules: a bounded wait (about 2 ×
   * REDIS_COMMAND_TIMEOUT_MS at most), no command sent while Redis is paused after timeouts.
   * Failures are counted by operation and logged once per episode with a count.
   */
  async run<T>(
    operation: RedisOperation,
    command: (client: RedisClient) => Promise<T>,
    options: { retryOnTimeout?: boolean } = {},
  ): Promise<T> {
    const client = this.client;
    if (!client) throw new RedisUnavailableError('not configured');
    try {
      const result = await this.gate.run(() => command(client), options.retryOnTimeout ?? true);
      if (this.commandWarning.active)
        this.commandWarning.recovered('redis commands work again', { redisHost: this.host });
      return result;
    } catch (error) {
      this.metrics.redisErrors.inc({ operation });
      this.commandWarning.warn({ redisHost: this.host, operation, err: errorMessage(error) });
      throw error;
    }
  }

  /** Proves a configured Redis with a real write and read; a failure is logged loudly, not fatal. */
  async onModuleInit(): Promise<void> {
    if (!this.client) {
      this.logger.info(
        'no Redis is configured (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES): the in-process cache alone serves',
      );
      return;
    }
    try {
      await withTimeout(this.client.connect(), BOOT_CONNECT_TIMEOUT_MS);
      const probeKey = `${this.config.redis.keyPrefix}boot-probe:${randomUUID()}`;
      await this.client.set(probeKey, 'ok', 'PX', 10000);
      const read = await this.client.get(probeKey);
      await this.client.del(probeKey);
      if (read !== 'ok') throw new Error('read back a different value');
      // A cluster client connects to each node on its first command; a cold burst would spend its
      // Redis deadline on those connections. Connect to every master now.
      if (this.client instanceof Cluster)
        await Promise.all(this.client.nodes('master').map((node) => node.ping()));
      this.logger.info({ redisHost: this.host }, 'redis proven with a write and a read');
    } catch (error) {
      this.logger.error(
        { redisHost: this.host, err: errorMessage(error) },
        `${this.setting} is set but Redis failed the boot write/read probe: serving from the in-process cache and upstream until it answers`,
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    const client = this.client;
    if (!client || client.status === 'end') return;
    if (client.status !== 'ready') {
      // Not connected: stop the reconnect loop rather than queue a QUIT nobody will answer.
      client.disconnect();
      return;
    }
    try {
      await withTimeout(client.quit(), 500);
    } catch {
      client.disconnect();
    }
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}
