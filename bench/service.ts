/**
 * The processes under test: the Superfone stand-in and superfone-bff itself, started from the
 * build output with a bench-only client key, a random Redis key prefix, and nothing inherited
 * from the caller's environment beyond PATH/HOME (a stray LOG_FORMAT or CACHE_TTL_SECONDS would
 * silently change what is measured).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { freePort } from '../tools/free-port';
import { benchStartCommand, distPath, spawnNodeServer, waitForStatus, type Child } from './servers';

export interface BenchContext {
  readonly tmpDir: string;
  readonly redisUrl: string;
  /** The client key the load generator presents (`Authorization: Bearer …`). */
  readonly clientKey: string;
  readonly superfoneKey: string;
  /** The stand-in's base URL, e.g. http://127.0.0.1:4567/superfone. */
  standInUrl: string;
  /** Every REDIS_KEY_PREFIX handed out, so cleanup deletes exactly the bench's keys. */
  readonly prefixes: string[];
}

export function newContext(tmpDir: string, redisUrl: string): BenchContext {
  return {
    tmpDir,
    redisUrl,
    clientKey: `bench-${randomBytes(24).toString('base64url')}`,
    superfoneKey: `bench-superfone-${randomBytes(16).toString('hex')}`,
    standInUrl: '',
    prefixes: [],
  };
}

/** A fresh random REDIS_KEY_PREFIX, remembered for cleanup. */
export function newPrefix(ctx: BenchContext): string {
  const prefix = `superfone-bff-bench:${randomBytes(6).toString('hex')}:`;
  ctx.prefixes.push(prefix);
  return prefix;
}

function baseEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' };
}

/** Starts the stand-in (delay applies to every upstream answer) and waits until it answers. */
export async function startStandIn(ctx: BenchContext, delayMs: number): Promise<Child> {
  const port = await freePort();
  const child = spawnNodeServer(
    'superfone stand-in',
    distPath('tools', 'superfone-stand-in', 'main.js'),
    {
      ...baseEnv(),
      SUPERFONE_API_KEY: ctx.superfoneKey,
      STAND_IN_PORT: String(port),
      STAND_IN_HOST: '127.0.0.1',
      STAND_IN_DELAY_MS: String(delayMs),
    },
    join(ctx.tmpDir, 'stand-in.log'),
  );
  await waitForStatus(`http://127.0.0.1:${port}/__stand-in/stats`, child);
  ctx.standInUrl = `http://127.0.0.1:${port}/superfone`;
  return child;
}

function controlUrl(ctx: BenchContext, path: string): string {
  return ctx.standInUrl.replace(/\/superfone$/, `/__stand-in/${path}`);
}

/** Upstream calls the stand-in has counted since its last reset. */
export async function upstreamCalls(ctx: BenchContext): Promise<number> {
  const res = await fetch(controlUrl(ctx, 'stats'));
  return ((await res.json()) as { calls: number }).calls;
}

/** Zeroes the stand-in's call count (its delay stays the one it was started with). */
export async function resetStandIn(ctx: BenchContext): Promise<void> {
  const res = await fetch(controlUrl(ctx, 'reset'), { method: 'POST' });
  await res.arrayBuffer();
  if (res.status !== 204) throw new Error(`stand-in reset answered ${res.status}`);
}

export interface ServiceProcess {
  readonly child: Child;
  readonly url: string;
  readonly logPath: string;
  /** performance.now() just before the spawn: where boot-to-ready starts. */
  readonly spawnedAt: number;
}

/**
 * Spawns `node <npm start's flags> dist/superfone-bff.js` on the server core with the bench's settings
 * (`env` overrides, e.g. CACHE_TTL_SECONDS, are applied last); does not wait for it.
 */
export async function spawnService(
  ctx: BenchContext,
  name: string,
  prefix: string,
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  const logPath = join(ctx.tmpDir, `${name}.log`);
  const clientKeys = [
    {
      id: 'bench',
      keySha256: createHash('sha256').update(ctx.clientKey).digest('hex'),
      scopes: ['numbers:read', 'numbers:refresh'],
    },
  ];
  const start = benchStartCommand();
  const spawnedAt = performance.now();
  const child = spawnNodeServer(
    name,
    distPath('superfone-bff.js'),
    {
      ...baseEnv(),
      ...start.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      SUPERFONE_BASE_URL: ctx.standInUrl,
      SUPERFONE_API_KEY: ctx.superfoneKey,
      CLIENT_KEYS: JSON.stringify(clientKeys),
      REDIS_URL: ctx.redisUrl,
      REDIS_KEY_PREFIX: prefix,
      LOG_LEVEL: 'info',
      // The bench client is one app sending tens of thousands of requests a second; the per-client
      // limit (when the build has one) would otherwise turn most of them into cheap 429s.
      RATE_LIMIT_PER_MINUTE: '1000000',
      // Draining delays exist for Kubernetes endpoints; here they would only slow every stop.
      SHUTDOWN_DELAY_MS: '0',
      ...env,
    },
    logPath,
    start.flags,
  );
  return { child, url: `http://127.0.0.1:${port}`, logPath, spawnedAt };
}

/** spawnService, then waits for /health/ready to answer 200. */
export async function startService(
  ctx: BenchContext,
  name: string,
  prefix: string,
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  const service = await spawnService(ctx, name, prefix, env);
  try {
    await waitForStatus(`${service.url}/health/ready`, service.child);
  } catch (error) {
    // The log lives in the temp dir, deleted at the end: keep its last lines in the error.
    throw new Error(`${(error as Error).message}; its last output: ${tail(service.logPath)}`, {
      cause: error,
    });
  }
  return service;
}

/** The first line that names an error, and the last line, of a log: enough to see why a process died. */
export function tail(path: string): string {
  try {
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const firstError = lines.find((line) => /error/i.test(line) && !/^\s+at /.test(line));
    return [firstError, lines.at(-1)].filter(Boolean).join(' … ').slice(0, 800) || '(nothing)';
  } catch {
    return '(no log)';
  }
}

/** Deletes every key under `prefix` with SCAN + DEL (never FLUSHALL: the Redis is shared). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}
