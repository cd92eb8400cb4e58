import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';

/** How long boot waits for a configured Redis before carrying on without it. */
const BOOT_CONNECT_TIMEOUT_MS = 2000;

/**
 * The service's one ioredis client (cache store, refresh lock, health), or none without
 * REDIS_URL. Every command has a short deadline and there is no offline queue, so a slow or
 * absent Redis costs a request tens of milliseconds at most; ioredis keeps reconnecting in the
 * background, so a Redis that comes back is used again without a restart.
 */
@Injectable()
export class RedisConnection implements OnModuleInit, OnApplicationShutdown {
  readonly client: Redis | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly config: AppConfig,
    logger: AppLogger,
  ) {
    this.logger = logger.child(RedisConnection.name);
    const url = config.redis.url;
    this.client = url
      ? new Redis(url, {
          lazyConnect: true,
          enableOfflineQueue: false,
          commandTimeout: config.redis.commandTimeoutMs,
          maxRetriesPerRequest: 0,
          connectTimeout: 1000,
          // ioredis waits this long for a socket that may already be gone when disconnecting.
          disconnectTimeout: 250,
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        })
      : undefined;
    this.client?.on('error', (error: Error) => this.logger.warn({ redisHost: this.host, err: error.message }, 'redis error'));
  }

  /** REDIS_URL's host:port, safe to log (no password). */
  get host(): string | undefined {
    if (!this.config.redis.url) return undefined;
    const url = new URL(this.config.redis.url);
    return `${url.hostname}:${url.port || 6379}`;
  }

  get isReady(): boolean {
    return this.client?.status === 'ready';
  }

  /** Proves a configured Redis with a real write and read; a failure is logged loudly, not fatal. */
  async onModuleInit(): Promise<void> {
    if (!this.client) {
      this.logger.info('REDIS_URL is not set: the in-process cache alone serves');
      return;
    }
    try {
      await withTimeout(this.client.connect(), BOOT_CONNECT_TIMEOUT_MS);
      const probeKey = `${this.config.redis.keyPrefix}boot-probe:${randomUUID()}`;
      await this.client.set(probeKey, 'ok', 'PX', 10000);
      const read = await this.client.get(probeKey);
      await this.client.del(probeKey);
      if (read !== 'ok') throw new Error('read back a different value');
      this.logger.info({ redisHost: this.host }, 'redis proven with a write and a read');
    } catch (error) {
      this.logger.error(
        { redisHost: this.host, err: (error as Error).message },
        'REDIS_URL is set but Redis failed the boot write/read probe: serving from the in-process cache and upstream until it answers',
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.client || this.client.status === 'end') return;
    if (this.client.status !== 'ready') {
      // Not connected: stop the reconnect loop rather than queue a QUIT nobody will answer.
      this.client.disconnect();
      return;
    }
    try {
      await withTimeout(this.client.quit(), 500);
    } catch {
      this.client.disconnect();
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
