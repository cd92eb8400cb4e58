/**
 * Stampedes: many concurrent requests for the same list when this process (or the cluster) has
 * no fresh copy, counting the upstream calls they cause at the stand-in. The contract is one
 * upstream call per refresh, cluster-wide, and stale-while-revalidate answering at once.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import {
  deletePrefix,
  newPrefix,
  resetStandIn,
  startService,
  upstreamCalls,
  type BenchContext,
  type ServiceProcess,
} from './service';
import { stop } from './servers';
import { summarize, type LatencySummary } from './stats';

/** Upstream delay during stampedes: long enough that every request arrives before it answers. */
export const STAMPEDE_DELAY_MS = 50;
/** Time left after the last answer for background refreshes to reach the stand-in. */
const SETTLE_MS = 500;

interface Answer {
  readonly status: number;
  readonly cacheStatus: string;
  readonly ms: number;
}

export interface StampedeResult {
  /** (a), (b) or (c), and which run of it: set by the caller. */
  readonly id: string;
  readonly run: number;
  readonly scenario: string;
  readonly replicas: number;
  readonly requests: number;
  readonly upstreamCalls: number;
  readonly statusCounts: Record<string, number>;
  /** Cache-Status classes: miss, hit, stale (stale or stale-if-error), none (no header, e.g. errors). */
  readonly cacheCounts: Record<string, number>;
  readonly latencyMs: LatencySummary;
  readonly errors: number;
  /** The services' log lines at warn level or above during the scenario, by message, with counts. */
  readonly warnings: Record<string, number>;
  /** (c) only: the same burst as fresh hits on the same warm sockets, just before the copy went stale. */
  readonly freshBurstLatencyMs?: LatencySummary;
  readonly note?: string;
}

function classify(cacheStatus: string): string {
  if (cacheStatus.includes('stale')) return 'stale';
  if (cacheStatus.includes('fwd=miss')) return 'miss';
  if (cacheStatus.includes('hit')) return 'hit';
  return cacheStatus ? 'other' : 'none';
}

function get(agent: Agent, url: string, clientKey: string): Promise<Answer> {
  const started = performance.now();
  return new Promise((done) => {
    const req = request(url, { agent, headers: { authorization: `Bearer ${clientKey}` }, timeout: 10_000 }, (res) => {
      res.resume();
      res.once('end', () =>
        done({ status: res.statusCode ?? 0, cacheStatus: String(res.headers['cache-status'] ?? ''), ms: performance.now() - started }),
      );
      res.once('error', () => done({ status: 0, cacheStatus: '', ms: performance.now() - started }));
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', () => done({ status: 0, cacheStatus: '', ms: performance.now() - started }));
    req.end();
  });
}

/** Fires `n` requests at once, round-robin over `urls`; latency counts from the moment all were fired. */
async function fire(agent: Agent, urls: readonly string[], n: number, clientKey: string): Promise<Answer[]> {
  const all: Promise<Answer>[] = [];
  for (let i = 0; i < n; i++) all.push(get(agent, `${urls[i % urls.length]}/numbers/available`, clientKey));
  return Promise.all(all);
}

function tally(
  scenario: string,
  replicas: number,
  answers: readonly Answer[],
  calls: number,
  extra: Pick<StampedeResult, 'freshBurstLatencyMs' | 'note'> = {},
): StampedeResult {
  const statusCounts: Record<string, number> = {};
  const cacheCounts: Record<string, number> = {};
  for (const a of answers) {
    statusCounts[a.status] = (statusCounts[a.status] ?? 0) + 1;
    const kind = classify(a.cacheStatus);
    cacheCounts[kind] = (cacheCounts[kind] ?? 0) + 1;
  }
  return {
    id: '',
    run: 0,
    scenario,
    replicas,
    requests: answers.length,
    upstreamCalls: calls,
    statusCounts,
    cacheCounts,
    latencyMs: summarize(answers.map((a) => a.ms)),
    errors: statusCounts['0'] ?? 0,
    warnings: {},
    ...extra,
  };
}

/**
 * Warn-and-above lines of the services' logs (pino JSON, level >= 40), as "message: err" → count:
 * a Redis command timing out under the burst, for one, explains an extra upstream call.
 */
function warnings(services: readonly ServiceProcess[]): Record<string, number> {
  const found: Record<string, number> = {};
  for (const service of services) {
    let text = '';
    try {
      text = readFileSync(service.logPath, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: unknown; upstream?: string };
        if ((entry.level ?? 0) < 40) continue;
        const detail = entry.err ?? entry.upstream;
        const key = `${entry.msg ?? '?'}${detail ? `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`;
        found[key] = (found[key] ?? 0) + 1;
      } catch {
        // not a log line (a stack trace, say)
      }
    }
  }
  return found;
}

/** Runs `body` with fresh services on a fresh prefix and a zeroed stand-in; stops and cleans up after. */
async function withServices(
  ctx: BenchContext,
  redis: Redis | undefined,
  replicas: number,
  env: Record<string, string>,
  body: (services: ServiceProcess[], agent: Agent) => Promise<StampedeResult>,
): Promise<StampedeResult> {
  const prefix = newPrefix(ctx);
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const services: ServiceProcess[] = [];
  try {
    for (let i = 0; i < replicas; i++) services.push(await startService(ctx, `stampede-${prefix.slice(-7, -1)}-${i}`, prefix, env));
    await resetStandIn(ctx);
    const result = await body(services, agent);
    return { ...result, warnings: warnings(services) };
  } finally {
    agent.destroy();
    await Promise.all(services.map((s) => stop(s.child)));
    if (redis) await deletePrefix(redis, prefix).catch(() => 0);
  }
}

/** (a)/(b): `n` concurrent requests on freshly started services with nothing cached anywhere. */
export async function coldStampede(
  ctx: BenchContext,
  redis: Redis | undefined,
  replicas: number,
  n: number,
): Promise<StampedeResult> {
  return withServices(ctx, redis, replicas, {}, async (services, agent) => {
    const before = await upstreamCalls(ctx);
    const answers = await fire(agent, services.map((s) => s.url), n, ctx.clientKey);
    await sleep(SETTLE_MS);
    const calls = (await upstreamCalls(ctx)) - before;
    return tally(`${n} concurrent cold requests on ${replicas} process${replicas > 1 ? 'es' : ''}`, replicas, answers, calls);
  });
}

/**
 * (c): CACHE_TTL_SECONDS=1. One request warms the cache; a burst of `n` fresh hits opens `n`
 * keep-alive sockets (so the stale burst measures the cache, not TCP handshakes); a second burst
 * of `n` fresh hits on those sockets is the reference latency. Once the copy is stale, `n`
 * requests fire together. Expected: all answered at once from the stale copy (about as fast as
 * the reference burst, not the upstream delay later), and one upstream call.
 */
export async function staleStampede(ctx: BenchContext, redis: Redis | undefined, n: number): Promise<StampedeResult> {
  return withServices(ctx, redis, 1, { CACHE_TTL_SECONDS: '1' }, async ([service], agent) => {
    const warmRes = await fetch(`${service.url}/numbers/available`, { headers: { authorization: `Bearer ${ctx.clientKey}` } });
    const warm = (await warmRes.json()) as { meta?: { fetchedAt?: string } };
    const fetchedAt = Date.parse(warm.meta?.fetchedAt ?? '');
    if (warmRes.status !== 200 || !Number.isFinite(fetchedAt)) throw new Error(`stale stampede: warm-up answered ${warmRes.status}`);
    const connect = await fire(agent, [service.url], n, ctx.clientKey);
    const reference = await fire(agent, [service.url], n, ctx.clientKey);
    const notFresh = [...connect, ...reference].filter((a) => classify(a.cacheStatus) !== 'hit').length;
    // fetchedAt has whole-ms precision and the service's clock is this machine's: 250 ms of margin.
    await sleep(Math.max(fetchedAt + 1000 + 250 - Date.now(), 0));
    const before = await upstreamCalls(ctx);
    const answers = await fire(agent, [service.url], n, ctx.clientKey);
    await sleep(SETTLE_MS);
    const calls = (await upstreamCalls(ctx)) - before;
    return tally(`${n} concurrent requests on an expired (stale) entry, 1 process`, 1, answers, calls, {
      freshBurstLatencyMs: summarize(reference.map((a) => a.ms)),
      note: notFresh > 0 ? `${notFresh} of the ${2 * n} warm-up requests were not fresh hits (the warm-up outlasted the 1 s TTL)` : undefined,
    });
  });
}
