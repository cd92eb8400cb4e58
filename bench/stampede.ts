/**
 * Stampedes: many concurrent requests for the same list when this process (or the cluster) has
 * no fresh copy, counting the upstream calls they cause at the stand-in. The contract is one
 * upstream call per refresh, cluster-wide, and stale-while-revalidate answering at once.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { burst, closeSockets, openSockets, type BurstAnswer } from './burst-client';
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

export interface StampedeResult {
  /** (a), (b) or (c), and which run of it: set by the caller. */
  readonly id: string;
  readonly run: number;
  readonly scenario: string;
  /**
   * cold: nothing cached anywhere, so every client waits for the one upstream call; stale: a
   * stale copy answers at once; shared: the copy is in Redis, so no upstream call at all.
   */
  readonly kind: 'cold' | 'stale' | 'shared';
  readonly replicas: number;
  readonly requests: number;
  readonly upstreamCalls: number;
  readonly statusCounts: Partial<Record<string, number>>;
  /** Cache-Status classes: miss, hit, stale (stale or stale-if-error), none (no header, e.g. errors). */
  readonly cacheCounts: Partial<Record<string, number>>;
  readonly latencyMs: LatencySummary;
  readonly errors: number;
  /** The services' log lines at warn level or above during the scenario, by message, with counts. */
  readonly warnings: Record<string, number>;
  /**
   * What the same burst costs when nobody waits for Superfone: fresh hits on the same sockets just
   * before the copy expired ((a) on a warm process, (c)), or the copy-in-Redis run of the same
   * round ((a) on a fresh process; attached by run.ts).
   */
  readonly reference?: { readonly label: string; readonly latencyMs: LatencySummary };
  readonly note?: string;
}

function classify(cacheStatus: string): string {
  if (cacheStatus.includes('stale')) return 'stale';
  if (cacheStatus.includes('fwd=miss')) return 'miss';
  if (cacheStatus.includes('hit')) return 'hit';
  return cacheStatus ? 'other' : 'none';
}

function tally(
  scenario: string,
  kind: StampedeResult['kind'],
  replicas: number,
  answers: readonly BurstAnswer[],
  calls: number,
  extra: Pick<StampedeResult, 'reference' | 'note'> = {},
): StampedeResult {
  const statusCounts: Partial<Record<string, number>> = {};
  const cacheCounts: Partial<Record<string, number>> = {};
  for (const a of answers) {
    statusCounts[a.status] = (statusCounts[a.status] ?? 0) + 1;
    const kind = classify(a.cacheStatus);
    cacheCounts[kind] = (cacheCounts[kind] ?? 0) + 1;
  }
  return {
    id: '',
    run: 0,
    scenario,
    kind,
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
    let text: string;
    try {
      text = readFileSync(service.logPath, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as {
          level?: number;
          msg?: string;
          err?: unknown;
          upstream?: string;
        };
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

const PATH = '/numbers/available';

interface Setup {
  readonly replicas: number;
  /** How many sockets to connect (one request each per burst). */
  readonly sockets: number;
  readonly env?: Record<string, string>;
  /** Which services the sockets connect to, round-robin: all of them unless said otherwise. */
  readonly socketsOn?: (services: ServiceProcess[]) => ServiceProcess[];
}

/**
 * Runs `body` with fresh services on a fresh prefix, the sockets connected and a zeroed
 * stand-in; stops and cleans up after.
 */
async function withServices(
  ctx: BenchContext,
  redis: Redis | undefined,
  setup: Setup,
  body: (services: ServiceProcess[], sockets: Socket[]) => Promise<StampedeResult>,
): Promise<StampedeResult> {
  const prefix = newPrefix(ctx);
  const services: ServiceProcess[] = [];
  let sockets: Socket[] = [];
  try {
    for (let i = 0; i < setup.replicas; i++) {
      services.push(
        await startService(ctx, `stampede-${prefix.slice(-7, -1)}-${i}`, prefix, setup.env),
      );
    }
    const targets = setup.socketsOn?.(services) ?? services;
    sockets = await openSockets(
      targets.map((s) => s.url),
      setup.sockets,
    );
    await resetStandIn(ctx);
    const result = await body(services, sockets);
    return { ...result, warnings: warnings(services) };
  } finally {
    closeSockets(sockets);
    await Promise.all(services.map((s) => stop(s.child)));
    if (redis) await deletePrefix(redis, prefix).catch(() => 0);
  }
}

/** One burst of `n` requests, then the upstream calls it caused once background work has settled. */
async function measuredBurst(
  ctx: BenchContext,
  sockets: Socket[],
  clientKey: string,
): Promise<{ answers: BurstAnswer[]; calls: number }> {
  const before = await upstreamCalls(ctx);
  const answers = await burst(sockets, PATH, clientKey);
  await sleep(SETTLE_MS);
  return { answers, calls: (await upstreamCalls(ctx)) - before };
}

/** The copy's lifetime in the warm scenarios: long enough for a warm-up and a reference burst while it is fresh. */
const WARM_TTL_SECONDS = 3;
/** Warm-up bursts run until this long after the copy was fetched (at least two of them). */
const WARM_UP_UNTIL_MS = 1200;
/** The reference burst fires this long after the fetch, after an idle pause like the measured burst's. */
const REFERENCE_AT_MS = 1600;

const SAME_SOCKETS = 'the same burst of fresh hits on the same sockets just before';

interface WarmUp {
  readonly fetchedAt: number;
  readonly requests: number;
  /** The same burst as the measured one, as fresh hits, after an idle pause: what the burst itself costs. */
  readonly reference: BurstAnswer[];
  readonly notFresh: number;
}

/**
 * Warms a service up the way traffic would: one request fills the cache, then bursts of `n`
 * fresh hits on the sockets for about a second (the JIT needs a few thousand requests, not a
 * few hundred, before a burst costs what it costs on a process that has been serving), a pause,
 * and one more burst of fresh hits as the reference.
 */
async function warmUp(
  service: ServiceProcess,
  sockets: Socket[],
  clientKey: string,
): Promise<WarmUp> {
  const warmRes = await fetch(`${service.url}${PATH}`, {
    headers: { authorization: `Bearer ${clientKey}` },
  });
  const warm = (await warmRes.json()) as { meta?: { fetchedAt?: string } };
  const fetchedAt = Date.parse(warm.meta?.fetchedAt ?? '');
  if (warmRes.status !== 200 || !Number.isFinite(fetchedAt))
    throw new Error(`warm-up answered ${warmRes.status}`);
  const answers: BurstAnswer[] = [];
  while (answers.length < 2 * sockets.length || Date.now() < fetchedAt + WARM_UP_UNTIL_MS)
    answers.push(...(await burst(sockets, PATH, clientKey)));
  await sleep(Math.max(fetchedAt + REFERENCE_AT_MS - Date.now(), 0));
  const reference = await burst(sockets, PATH, clientKey);
  const notFresh = [...answers, ...reference].filter(
    (a) => classify(a.cacheStatus) !== 'hit',
  ).length;
  return { fetchedAt, requests: answers.length + reference.length, reference, notFresh };
}

/** Sleeps until a copy fetched at `fetchedAt` has expired (fetchedAt has whole-ms precision: 250 ms of margin). */
async function untilExpired(fetchedAt: number): Promise<void> {
  await sleep(Math.max(fetchedAt + WARM_TTL_SECONDS * 1000 + 250 - Date.now(), 0));
}

function warmUpNote({ notFresh, requests }: WarmUp): string | undefined {
  return notFresh > 0
    ? `${notFresh} of the ${requests} warm-up requests were not fresh hits (the warm-up outlasted the TTL)`
    : undefined;
}

/** (a)/(b): `n` concurrent requests on freshly started services with nothing cached anywhere. */
export async function coldStampede(
  ctx: BenchContext,
  redis: Redis | undefined,
  replicas: number,
  n: number,
): Promise<StampedeResult> {
  return withServices(ctx, redis, { replicas, sockets: n }, async (_services, sockets) => {
    const { answers, calls } = await measuredBurst(ctx, sockets, ctx.clientKey);
    return tally(
      `${n} concurrent cold requests on ${replicas} freshly started process${replicas > 1 ? 'es' : ''}`,
      'cold',
      replicas,
      answers,
      calls,
    );
  });
}

/**
 * The reference for (a) on a fresh process: the same burst on a freshly started process whose
 * peer has already put the copy in Redis (a rolling deploy's new replica). It reads the copy
 * once and answers from it: no upstream call, so its latency is what the burst costs a
 * JIT-cold process.
 */
export async function sharedCopyStampede(
  ctx: BenchContext,
  redis: Redis | undefined,
  n: number,
): Promise<StampedeResult> {
  if (!redis) throw new Error('needs Redis');
  const setup = { replicas: 2, sockets: n, socketsOn: ([, fresh]: ServiceProcess[]) => [fresh] };
  return withServices(ctx, redis, setup, async ([peer], sockets) => {
    const res = await fetch(`${peer.url}${PATH}`, {
      headers: { authorization: `Bearer ${ctx.clientKey}` },
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`the peer answered ${res.status}`);
    const { answers, calls } = await measuredBurst(ctx, sockets, ctx.clientKey);
    return tally(
      `${n} concurrent requests on 1 freshly started process whose peer already put the copy in Redis`,
      'shared',
      1,
      answers,
      calls,
    );
  });
}

/**
 * (a) on a process that has served traffic: CACHE_TTL_SECONDS=3 and CACHE_STALE_SECONDS=0, so
 * once the copy is three seconds old it is gone from memory and from Redis, and the next requests find
 * nothing cached anywhere: the cold case an idle endpoint meets in production. Expected: one
 * upstream call, and every client answered about one upstream delay after the burst.
 */
export async function expiredStampede(
  ctx: BenchContext,
  redis: Redis | undefined,
  n: number,
): Promise<StampedeResult> {
  const env = { CACHE_TTL_SECONDS: String(WARM_TTL_SECONDS), CACHE_STALE_SECONDS: '0' };
  return withServices(ctx, redis, { replicas: 1, sockets: n, env }, async ([service], sockets) => {
    const warm = await warmUp(service, sockets, ctx.clientKey);
    await untilExpired(warm.fetchedAt);
    const { answers, calls } = await measuredBurst(ctx, sockets, ctx.clientKey);
    return tally(
      `${n} concurrent cold requests on 1 process that has served traffic (its copy expired everywhere)`,
      'cold',
      1,
      answers,
      calls,
      {
        reference: { label: SAME_SOCKETS, latencyMs: summarize(warm.reference.map((a) => a.ms)) },
        note: warmUpNote(warm),
      },
    );
  });
}

/**
 * (c): CACHE_TTL_SECONDS=3 (stale copies kept the default 300 s). After the same warm-up as
 * above, once the copy is stale, `n` requests fire together. Expected: all answered at once from
 * the stale copy (about as fast as the reference burst, not one upstream delay later), and one
 * upstream call.
 */
export async function staleStampede(
  ctx: BenchContext,
  redis: Redis | undefined,
  n: number,
): Promise<StampedeResult> {
  const env = { CACHE_TTL_SECONDS: String(WARM_TTL_SECONDS) };
  return withServices(ctx, redis, { replicas: 1, sockets: n, env }, async ([service], sockets) => {
    const warm = await warmUp(service, sockets, ctx.clientKey);
    await untilExpired(warm.fetchedAt);
    const { answers, calls } = await measuredBurst(ctx, sockets, ctx.clientKey);
    return tally(
      `${n} concurrent requests on an expired (stale) entry, 1 process`,
      'stale',
      1,
      answers,
      calls,
      {
        reference: { label: SAME_SOCKETS, latencyMs: summarize(warm.reference.map((a) => a.ms)) },
        note: warmUpNote(warm),
      },
    );
  });
}
