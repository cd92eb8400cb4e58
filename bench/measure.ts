/**
 * One measured run of one peer with one load generator, and the per-row summary over rounds (one
 * per generator): req/s and latency from the load generator, CPU and memory from /proc, Redis
 * commands from INFO commandstats, and the service's log lines, so every figure in the report
 * comes with the evidence to doubt it.
 */
import { closeSync, openSync, readSync, truncateSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Instrument, Loader, LoadResult } from './load';
import { ServerSampler, type ServerSample } from './servers';
import { median } from './stats';

/** Wait before counting a run's log lines (see measure()). */
const LOG_SETTLE_MS = 200;

/** One server (or one way of calling it) measured in every round. */
export interface Peer {
  readonly id: string;
  readonly label: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly expectStatus: number;
  /**
   * Bytes of one expected answer (status line, headers, body), read once before the rounds: a
   * run whose bytes/response is more than 10 % off counts every response as unexpected (wrk's
   * measured runs only know which statuses were 400 or more; a 200 where a 304 was expected
   * shows here).
   */
  readonly expectBytes?: number;
  readonly pid: number;
  /** The service's log file: lines are counted per run to show the log line stayed on. */
  readonly logPath?: string;
}

export interface RoundResult {
  readonly round: number;
  readonly instrument: Instrument;
  readonly load: LoadResult;
  readonly server: ServerSample;
  /** Server CPU time per completed response, in µs: the cost that does not depend on how hard the client could push. */
  readonly cpuUsPerResponse: number;
  /** Commands the (shared) Redis processed during the run, per response (a script's inner commands count too). */
  readonly redisCommandsPerResponse?: number;
  /** The same, by command name (those at 0.01 per response or more), e.g. { evalsha: 1, incr: 1 }. */
  readonly redisCommandMix?: Record<string, number>;
  /** Responses that were not the expected status, plus socket errors and timeouts. */
  readonly unexpected: number;
  /** Why, when unexpected > 0. */
  readonly unexpectedDetail?: string;
  readonly logLines?: number;
}

/** One row's figures from one load generator, medians over rounds. */
export interface InstrumentSummary {
  readonly rounds: RoundResult[];
  readonly rps: number;
  /** req/s ÷ the Buffer baseline's req/s, same round and generator. */
  readonly ratio: number;
  /** req/s ÷ the minimal Nest row's req/s, same round and generator. */
  readonly nestRatio: number;
  readonly p50: number;
  readonly p99: number;
  readonly p99Ratio: number;
  readonly peakRssMiB: number;
  readonly cpuUsPerResponse: number;
  /** cpuUsPerResponse ÷ the Buffer baseline's in the same round (median): 2.00 = twice the CPU per request. */
  readonly cpuCostRatio: number;
  readonly redisCommandsPerResponse: number;
  readonly redisCommandMix?: Record<string, number>;
  readonly core0BusyPercent: number;
  readonly core1BusyPercent: number;
  readonly serverCpuPercent: number;
  readonly clientCpuPercent: number;
  readonly bytesPerResponse: number;
  readonly unexpected: number;
}

export interface RowSummary {
  readonly id: string;
  readonly label: string;
  /** Set when the peer could not run (e.g. "nginx: not installed"). */
  readonly unavailable?: string;
  readonly by: Partial<Record<Instrument, InstrumentSummary>>;
  /** The result: the lower of the generators' ratios to bare node:http. */
  readonly ratio?: number;
  /** The lower of the generators' ratios to the minimal Nest row. */
  readonly nestRatio?: number;
  /** Highest RSS sampled during any of the row's runs, either generator. */
  readonly peakRssMiB?: number;
}

/** Newline count of a file, read in chunks (a 10 s run writes ~100 MB of log lines). */
function countLines(path: string): number {
  const fd = openSync(path, 'r');
  const chunk = Buffer.allocUnsafe(1 << 20);
  let lines = 0;
  try {
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) {
      for (let i = chunk.indexOf(10); i !== -1 && i < n; i = chunk.indexOf(10, i + 1)) lines++;
    }
  } finally {
    closeSync(fd);
  }
  return lines;
}

/**
 * Calls per command from Redis's INFO commandstats. It counts every client of the Redis (other
 * users add noise) and the commands a Lua script runs as well as the EVALSHA itself.
 */
async function redisCommandStats(
  redis: Redis | undefined,
): Promise<Map<string, number> | undefined> {
  if (!redis) return undefined;
  const info = await redis.info('commandstats').catch(() => undefined);
  if (info === undefined) return undefined;
  const stats = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    stats.set(match[1], Number(match[2]));
  stats.delete('info'); // our own probes
  return stats;
}

function commandMix(
  before: Map<string, number> | undefined,
  after: Map<string, number> | undefined,
  responses: number,
): Pick<RoundResult, 'redisCommandsPerResponse' | 'redisCommandMix'> {
  if (!before || !after || responses === 0) return {};
  let total = 0;
  const mix: Record<string, number> = {};
  for (const [name, calls] of after) {
    const delta = calls - (before.get(name) ?? 0);
    total += delta;
    if (delta / responses >= 0.01) mix[name] = Number((delta / responses).toFixed(2));
  }
  return { redisCommandsPerResponse: total / responses, redisCommandMix: mix };
}

/** What was wrong with a run's answers: wrong statuses, socket errors, timeouts, answers of the wrong size. */
function unexpectedAnswers(
  peer: Peer,
  load: LoadResult,
): Pick<RoundResult, 'unexpected' | 'unexpectedDetail'> {
  const details: string[] = [];
  // wrk without a response() hook reports only how many statuses were 400 or more.
  const wrongStatus =
    '<400' in load.statusCounts
      ? (load.statusCounts['>=400'] ?? 0)
      : load.responses - (load.statusCounts[String(peer.expectStatus)] ?? 0);
  if (wrongStatus) details.push(`statuses ${JSON.stringify(load.statusCounts)}`);
  if (load.errors) details.push(`${load.errors} socket errors`);
  if (load.timeouts) details.push(`${load.timeouts} timeouts`);
  let unexpected = wrongStatus + load.errors + load.timeouts;
  const expected = peer.expectBytes;
  if (expected && load.responses && Math.abs(load.bytesPerResponse - expected) > 0.1 * expected) {
    unexpected += load.responses;
    details.push(
      `${load.bytesPerResponse.toFixed(0)} bytes/response where a ${expected}-byte answer was expected`,
    );
  }
  return unexpected ? { unexpected, unexpectedDetail: details.join(', ') } : { unexpected };
}

export async function measure(
  peer: Peer,
  loader: Loader,
  seconds: number,
  connections: number,
  round: number,
  redis: Redis | undefined,
): Promise<RoundResult> {
  // The service's stdout file is opened O_APPEND, so truncating it here restarts it at zero.
  if (peer.logPath) truncateSync(peer.logPath, 0);
  const commandsBefore = await redisCommandStats(redis);
  let sampler: ServerSampler | undefined;
  let server: ServerSample | undefined;
  const load = await loader.run(
    { url: peer.url, connections, durationSeconds: seconds, headers: peer.headers },
    {
      onStart: () => (sampler = new ServerSampler(peer.pid)),
      onEnd: () => (server = sampler?.finish()),
    },
  );
  if (!server) throw new Error(`${peer.label}: the load worker did not report its start`);
  const commandsAfter = await redisCommandStats(redis);
  // The service writes its lines once per event-loop turn; on a busy core 0 the last turn can come
  // a few ms after wrk (which exits at once) reported, so the count waits for it.
  if (peer.logPath) await sleep(LOG_SETTLE_MS);
  return {
    round,
    instrument: loader.instrument,
    load,
    server,
    cpuUsPerResponse: load.responses ? (server.cpuSeconds * 1e6) / load.responses : NaN,
    ...commandMix(commandsBefore, commandsAfter, load.responses),
    ...unexpectedAnswers(peer, load),
    logLines: peer.logPath ? countLines(peer.logPath) : undefined,
  };
}

/** Ratio of each round's figure to the same round's figure of another row, median over rounds. */
function medianRatio(
  rounds: readonly RoundResult[],
  others: readonly RoundResult[],
  figure: (r: RoundResult) => number,
): number {
  return median(
    rounds.map((r) => {
      const other = others.find((o) => o.round === r.round);
      return other ? figure(r) / figure(other) : NaN;
    }),
  );
}

function summarizeInstrument(
  rounds: RoundResult[],
  base: readonly RoundResult[],
  nest: readonly RoundResult[],
): InstrumentSummary {
  const ratioTo = (others: readonly RoundResult[], figure: (r: RoundResult) => number): number =>
    medianRatio(rounds, others, figure);
  return {
    rounds,
    rps: median(rounds.map((r) => r.load.rps)),
    ratio: ratioTo(base, (r) => r.load.rps),
    nestRatio: ratioTo(nest, (r) => r.load.rps),
    p50: median(rounds.map((r) => r.load.latencyMs.p50)),
    p99: median(rounds.map((r) => r.load.latencyMs.p99)),
    p99Ratio: ratioTo(base, (r) => r.load.latencyMs.p99),
    peakRssMiB: Math.max(...rounds.map((r) => r.server.peakRssMiB)),
    cpuUsPerResponse: median(rounds.map((r) => r.cpuUsPerResponse)),
    cpuCostRatio: ratioTo(base, (r) => r.cpuUsPerResponse),
    redisCommandsPerResponse: median(rounds.map((r) => r.redisCommandsPerResponse ?? NaN)),
    redisCommandMix: rounds.at(-1)?.redisCommandMix,
    core0BusyPercent: median(rounds.map((r) => r.server.coreBusyPercent[0] ?? NaN)),
    core1BusyPercent: median(rounds.map((r) => r.server.coreBusyPercent[1] ?? NaN)),
    serverCpuPercent: median(rounds.map((r) => r.server.cpuPercent)),
    clientCpuPercent: median(rounds.map((r) => r.load.clientCpuPercent)),
    bytesPerResponse: median(rounds.map((r) => r.load.bytesPerResponse)),
    unexpected: rounds.reduce((sum, r) => sum + r.unexpected, 0),
  };
}

/**
 * Per row and generator: medians over rounds, ratios within a round and generator. A row's result
 * is the lower of its generators' ratios (the issue: report both, treat the lower as the result).
 */
export function summarizeRows(
  peers: readonly Peer[],
  resultsOf: (peerId: string) => readonly RoundResult[],
  instruments: readonly Instrument[],
  baselineId: string,
  nestId: string,
): RowSummary[] {
  return peers.map((peer) => {
    const by: Partial<Record<Instrument, InstrumentSummary>> = {};
    for (const instrument of instruments) {
      const of = (id: string): RoundResult[] =>
        resultsOf(id).filter((r) => r.instrument === instrument);
      const rounds = of(peer.id);
      if (rounds.length) by[instrument] = summarizeInstrument(rounds, of(baselineId), of(nestId));
    }
    const summaries = Object.values(by);
    const lowest = (values: number[]): number | undefined => {
      const finite = values.filter(Number.isFinite);
      return finite.length ? Math.min(...finite) : undefined;
    };
    return {
      id: peer.id,
      label: peer.label,
      by,
      ratio: lowest(summaries.map((s) => s.ratio)),
      nestRatio: lowest(summaries.map((s) => s.nestRatio)),
      peakRssMiB: summaries.length ? Math.max(...summaries.map((s) => s.peakRssMiB)) : undefined,
    };
  });
}
