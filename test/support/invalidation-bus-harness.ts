import { DynamicModule, Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext, NestApplicationOptions } from '@nestjs/common';
import { CacheKeys } from '../../src/cache/cache-keys';
import {
  ChangedResources,
  INVALIDATION_BUS_OPTIONS,
  InvalidationBus,
  InvalidationBusOptions,
} from '../../src/cache/invalidation-bus';
import { InvalidationBusModule } from '../../src/cache/invalidation-bus.module';
import type { AppConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import { loadConfig } from '../../src/config/load-config';
import { AppLogger, NestPinoLogger } from '../../src/logging/app-logger';
import { LoggingModule } from '../../src/logging/logging.module';
import type { InvalidationEvent, Metrics } from '../../src/metrics/metrics';
import { Metrics as MetricsClass } from '../../src/metrics/metrics';
import { MetricsModule } from '../../src/metrics/metrics.module';
import { RedisConnection } from '../../src/redis/redis.connection';
import { RedisSubscriber } from '../../src/redis/redis-subscriber';
import { LogLine, parseLogLines } from './bodies';
import { CLIENT_KEYS_JSON } from './client-keys.fixture';
import { SERVER_KEY } from './test-app';
import { redisCommand as commandOn } from './redis-command';
import { eventually } from './timing';

/** One replica's invalidation bus, in a real Nest context with the app's Redis, config, logger and metrics modules. */
export interface BusReplica {
  readonly bus: InvalidationBus;
  readonly subscriber: RedisSubscriber;
  readonly keys: CacheKeys;
  /** Everything the bus reported to its onChange handler, in order. */
  readonly events: ChangedResources[];
  /** Raw log lines. */
  readonly logs: string[];
  /** The value of superfone_bff_cache_invalidations_total{event}. */
  count(event: InvalidationEvent): Promise<number>;
  /** Log lines with this msg (a prefix of it). */
  logged(msg: string): LogLine[];
  /** Resolves once the bus has reported 'all' for its first subscription (it listens). */
  listening(): Promise<void>;
  close(): Promise<void>;
}

@Global()
@Module({})
class BusOptionsModule {
  static forRoot(options: InvalidationBusOptions): DynamicModule {
    return {
      module: BusOptionsModule,
      providers: [{ provide: INVALIDATION_BUS_OPTIONS, useValue: options }],
      exports: [INVALIDATION_BUS_OPTIONS],
    };
  }
}

@Module({})
class BusReplicaModule {
  static forRoot(
    config: AppConfig,
    logger: AppLogger,
    options: InvalidationBusOptions,
  ): DynamicModule {
    return {
      module: BusReplicaModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        MetricsModule.forRoot(config),
        BusOptionsModule.forRoot(options),
        InvalidationBusModule,
      ],
      providers: [
        {
          // Made before any module starts (the bus's first report comes while it starts).
          provide: BUS_EVENTS,
          inject: [InvalidationBus],
          useFactory: (bus: InvalidationBus): ChangedResources[] => {
            const events: ChangedResources[] = [];
            bus.onChange((resources) => events.push(resources));
            return events;
          },
        },
      ],
    };
  }
}

/** Everything a replica's bus reported, recorded from before it subscribed. */
const BUS_EVENTS = Symbol('BUS_EVENTS');

/**
 * Starts one replica's bus against the Redis `env` describes (REDIS_URL, REDIS_SENTINELS or
 * REDIS_CLUSTER_NODES, REDIS_USERNAME…), under REDIS_KEY_PREFIX `prefix`.
 */
export async function startBusReplica(
  prefix: string,
  env: Record<string, string | undefined>,
  options: InvalidationBusOptions = {},
): Promise<BusReplica> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    SUPERFONE_BASE_URL: 'http://127.0.0.1:9',
    SUPERFONE_API_KEY: SERVER_KEY,
    CLIENT_KEYS: CLIENT_KEYS_JSON,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'info',
    ...env,
  });
  const logs: string[] = [];
  const logger = new AppLogger(config, { write: (line: string) => logs.push(line) });
  const contextOptions: Pick<NestApplicationOptions, 'logger' | 'abortOnError'> = {
    logger: new NestPinoLogger(logger.pino),
    abortOnError: false,
  };
  const context: INestApplicationContext = await NestFactory.createApplicationContext(
    BusReplicaModule.forRoot(config, logger, options),
    contextOptions,
  );
  const bus = context.get(InvalidationBus);
  const metrics: Metrics = context.get(MetricsClass);
  const events: ChangedResources[] = context.get(BUS_EVENTS);
  const redis = context.get(RedisConnection);
  const logged = (msg: string) => parseLogLines(logs).filter((line) => line.msg?.startsWith(msg));
  return {
    bus,
    subscriber: context.get(RedisSubscriber),
    keys: new CacheKeys(prefix, config.superfone.apiKey),
    events,
    logs,
    logged,
    count: async (event) =>
      (await metrics.cacheInvalidations.get()).values.find((v) => v.labels.event === event)
        ?.value ?? 0,
    listening: async () => {
      // Subscribed, and its command connection ready too (an announce needs it; on a busy machine
      // the subscriber can be up first).
      await eventually(
        () => (events[0] === 'all' && redis.isReady ? true : undefined),
        'the bus to subscribe (its first report is "all") and its Redis connection to be ready',
        10_000,
      );
    },
    close: () => context.close(),
  };
}

/** Runs one command on a short-lived connection to `url` (the test's own view of Redis). */
export function redisCommand(
  url: string,
  args: (string | number)[],
  options: { username?: string; password?: string } = {},
): Promise<unknown> {
  return commandOn(url, args, options);
}
