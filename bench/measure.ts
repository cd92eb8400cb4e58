/**
 * One measured run of one peer, and the per-row summary over rounds: req/s and latency from the
 * load generator, CPU and memory from /proc, Redis commands from INFO commandstats, and the
 * service's log lines, so every figure in the report comes with the evidence to doubt it.
 */
import { closeSync, openSync, readSync, truncateSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { runLoad, type LoadResult } from './load';
import { ServerSampler, type ServerSample } from './servers';
import { median } from './stats';

/** One server (or one way of calling it) measured in every round. */
export interface Peer {
  readonly id: string;
  readonly label: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly expectStatus: number;
  readonly pid: number;
  /** The service's log file: lines are counted per run to show the log line stayed on. */
  readonly logPath?: string;
}

export interface RoundResult {
  readonly round: number;
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
  readonly logLines?: number;
}

export interface RowSummary {
  readonly id: string;
  readonly label: string;
  /** Set when the peer could not run (e.g. "nginx: not installed"). */
  readonly unavailable?: string;
  readonly rounds: RoundResult[];
  readonly rps?: number;
  readonly ratio?: number;
  readonly p50?: number;
  readonly p99?: number;
  readonly p99Ratio?: number;
  readonly peakRssMiB?: number;
  readonly cpuUsPerResponse?: number;
  /** cpuUsPerResponse ÷ the Buffer baseline's in the same round (median): 2.00 = twice the CPU per request. */
  readonly cpuCostRatio?: number;
  readonly redisCommandsPerResponse?: number;
  readonly redisCommandMix?: Record<string, number>;
  readonly core0BusyPercent?: number;
  readonly core1BusyPercent?: number;
  readonly serverCpuPercent?: number;
  readonly clientCpuPercent?: number;
  readonly bytesPerResponse?: number;
  readonly unexpected?: number;
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

export async function measure(
  peer: Peer,
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
  const load = await runLoad(
    { url: peer.url, connections, durationSeconds: seconds, headers: peer.headers },
    {
      onStart: () => (sampler = new ServerSampler(peer.pid)),
      onEnd: () => (server = sampler?.finish()),
    },
  );
  if (!server) throw new Error(`${peer.label}: the load worker did not report its start`);
  const commandsAfter = await redisCommandStats(redis);
  const expected = load.statusCounts[String(peer.expectStatus)] ?? 0;
  return {
    round,
    load,
    server,
    cpuUsPerResponse: load.responses ? (server.cpuSeconds * 1e6) / load.responses : NaN,
    ...commandMix(commandsBefore, commandsAfter, load.responses),
    unexpected: load.responses - expected + load.errors + load.timeouts,
    logLines: peer.logPath ? countLines(peer.logPath) : undefined,
  };
}

export function summarizeRows(
  peers: readonly Peer[],
  results: Map<string, RoundResult[]>,
  baselineId: string,
): RowSummary[] {
  const base = results.get(baselineId) ?? [];
  return peers.map((peer) => {
    const rounds = results.get(peer.id) ?? [];
    const ratios = rounds.map(
      (r) => r.load.rps / (base.find((b) => b.round === r.round)?.load.rps ?? NaN),
    );
    const p99Ratios = rounds.map(
      (r) =>
        r.load.latencyMs.p99 / (base.find((b) => b.round === r.round)?.load.latencyMs.p99 ?? NaN),
    );
    const costRatios = rounds.map(
      (r) => r.cpuUsPerResponse / (base.find((b) => b.round === r.round)?.cpuUsPerResponse ?? NaN),
    );
    return {
      id: peer.id,
      label: peer.label,
      rounds,
      rps: median(rounds.map((r) => r.load.rps)),
      ratio: median(ratios),
      p50: median(rounds.map((r) => r.load.latencyMs.p50)),
      p99: median(rounds.map((r) => r.load.latencyMs.p99)),
      p99Ratio: median(p99Ratios),
      peakRssMiB: Math.max(...rounds.map((r) => r.server.peakRssMiB)),
      cpuUsPerResponse: median(rounds.map((r) => r.cpuUsPerResponse)),
      cpuCostRatio: median(costRatios),
      redisCommandsPerResponse: median(rounds.map((r) => r.redisCommandsPerResponse ?? NaN)),
      redisCommandMix: rounds.at(-1)?.redisCommandMix,
      core0BusyPercent: median(rounds.map((r) => r.server.coreBusyPercent[0] ?? NaN)),
      core1BusyPercent: median(rounds.map((r) => r.server.coreBusyPercent[1] ?? NaN)),
      serverCpuPercent: median(rounds.map((r) => r.server.cpuPercent)),
      clientCpuPercent: median(rounds.map((r) => r.load.clientCpuPercent)),
      bytesPerResponse: median(rounds.map((r) => r.load.bytesPerResponse)),
      unexpected: rounds.reduce((sum, r) => sum + r.unexpected, 0),
    };
  });
}
