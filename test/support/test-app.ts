import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { startApp } from '../../src/app.factory';
import { loadConfig } from '../../src/config/load-config';
import type { SuperfoneBffClient } from '../../clients/typescript/src';
import { SuperfoneStandIn } from '../../tools/superfone-stand-in/superfone-stand-in';
import { bffFor } from './bff-client';
import { CLIENT_KEYS_JSON } from './client-keys.fixture';
import { serviceUrls } from './service-urls';

/** The Superfone key the stand-in accepts; every test asserts it never leaks. */
export const SERVER_KEY = 'sf-server-key-e2e-7f3a9c1d2b8e4f60';

export function testRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url)
    throw new Error('TEST_REDIS_URL is not set: the jest globalSetup finds or starts Redis');
  return url;
}

export interface Harness {
  readonly url: string;
  readonly app: NestFastifyApplication;
  readonly standIn: SuperfoneStandIn;
  /** Every log line the app wrote, raw. */
  readonly logs: string[];
  readonly keyPrefix: string;
  /** The generated client on this instance (see bffFor): for documented routes and inputs. */
  client(key?: string, headers?: Record<string, string>): SuperfoneBffClient;
  /** A raw GET: for what the client cannot send (paths, parameters or headers outside the spec). */
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Extra or overriding settings (strings, as in the environment). */
  env?: Record<string, string | undefined>;
  /** Share a stand-in (and so its call count) between several apps. */
  standIn?: SuperfoneStandIn;
  /** Use the in-process cache only (no REDIS_URL). */
  withoutRedis?: boolean;
  /** Use this Redis instead of the suite's. */
  redisUrl?: string;
  /** Share one key prefix between several apps (replicas of one deployment). */
  keyPrefix?: string;
  /**
   * Redis settings of another topology (REDIS_SENTINELS, REDIS_CLUSTER_NODES, TLS, ACL user…)
   * instead of the suite's REDIS_URL; the test owns that Redis and throws it away, keys and all.
   */
  redisEnv?: Record<string, string>;
}

/**
 * Starts the real app on a free port against a stand-in for Superfone (also on a free port) and
 * the suite's Redis, under a key prefix of its own that close() cleans up.
 */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const ownsStandIn = !options.standIn;
  const standIn = options.standIn ?? new SuperfoneStandIn({ apiKey: SERVER_KEY });
  const baseUrl = ownsStandIn ? await standIn.start() : standInBaseUrl(standIn);
  const keyPrefix = options.keyPrefix ?? `superfone-bff-test:${randomUUID()}:`;
  const redisUrl =
    options.withoutRedis || options.redisEnv ? undefined : (options.redisUrl ?? testRedisUrl());
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    SUPERFONE_BASE_URL: baseUrl,
    SUPERFONE_API_KEY: SERVER_KEY,
    SUPERFONE_TIMEOUT_MS: '1500',
    CLIENT_KEYS: CLIENT_KEYS_JSON,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: keyPrefix,
    LOG_LEVEL: 'info',
    ...options.redisEnv,
    ...options.env,
  });
  const logs: string[] = [];
  const { app, url } = await startApp(config, {
    logDestination: { write: (line: string) => logs.push(line) },
  });
  serviceUrls.add(url);
  return {
    url,
    app,
    standIn,
    logs,
    keyPrefix,
    client: (key, headers) => bffFor({ url }, key, headers),
    get: (path, headers = {}) => fetch(`${url}${path}`, { headers }),
    close: async () => {
      await app.close();
      if (ownsStandIn) await standIn.stop();
      if (redisUrl) await deleteKeys(redisUrl, keyPrefix);
    },
  };
}

const baseUrls = new WeakMap<SuperfoneStandIn, string>();

/** Starts a stand-in that several harnesses share. */
export async function startSharedStandIn(): Promise<SuperfoneStandIn> {
  const standIn = new SuperfoneStandIn({ apiKey: SERVER_KEY });
  baseUrls.set(standIn, await standIn.start());
  return standIn;
}

export function standInBaseUrl(standIn: SuperfoneStandIn): string {
  const url = baseUrls.get(standIn);
  if (!url) throw new Error('start shared stand-ins with startSharedStandIn()');
  return url;
}

/** Deletes only this run's keys: never FLUSHALL a Redis the tests did not start. */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, {
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    lazyConnect: true,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } catch {
    // A Redis a test stopped on purpose has nothing left to clean.
  } finally {
    if (redis.status !== 'end') redis.disconnect();
  }
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
