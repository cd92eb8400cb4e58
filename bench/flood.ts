/**
 * The 401-flood row: does a flood of requests with an unknown client key hurt a legitimate client?
 *
 * One freshly started service (the bench's usual settings, everything about failed
 * authentication left at its defaults) fills its cache and is warmed up with cache hits. A
 * legitimate client (legit-client.ts: one connection, a valid key, a fixed pace) is measured
 * quiet, then again while a flood runs: wrk, 50 connections, an unknown key, as fast as the
 * service answers, with a response() hook counting every status. Both the legitimate client and
 * the flood run on core 1, the service on core 0. The service's log lines during the flood are
 * counted by level and message.
 */
import { readFileSync, truncateSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { runLegitClient, type LegitResult } from './legit-client';
import { autocannonLoader, type Instrument, type LoadResult } from './load';
import { newPrefix, startService, type BenchContext } from './service';
import { ServerSampler, stop, type ServerSample } from './servers';
import { findWrk, runWrk } from './wrk';

/** The legitimate client's pace: modest, well under what one connection could send. */
export const LEGIT_RATE = 200;
/** The flood starts this long before the flooded measurement, and outlasts it by as much. */
const FLOOD_MARGIN_SECONDS = 1;

export interface FloodResult {
  readonly seconds: number;
  readonly rate: number;
  readonly connections: number;
  readonly quiet: LegitResult;
  readonly flooded: LegitResult;
  /** Flooded p99 ÷ quiet p99. */
  readonly p99Ratio: number;
  readonly floodInstrument: Instrument;
  readonly flood: LoadResult;
  /** The service's CPU and memory during the flood. */
  readonly server: ServerSample;
  /** Service CPU per answer (flood and legitimate) during the flood. */
  readonly cpuUsPerResponse: number;
  /** The service's log lines written during the flood, and how many per level and message. */
  readonly logLines: number;
  readonly logByMessage: Record<string, number>;
}

const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** Lines of a pino log grouped as `level "msg" status` → count, most frequent first. */
function groupLog(path: string): { lines: number; byMessage: Record<string, number> } {
  const text = readFileSync(path, 'utf8');
  const counts = new Map<string, number>();
  let lines = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    lines++;
    let key = 'not JSON';
    if (line.startsWith('{')) {
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; status?: number };
        key =
          `${LEVELS[entry.level ?? 0] ?? String(entry.level)} "${entry.msg ?? ''}"` +
          (entry.status !== undefined ? ` ${entry.status}` : '');
      } catch {
        // a line cut short: counted as not JSON
      }
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return {
    lines,
    byMessage: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 8)),
  };
}

export async function floodRow(
  ctx: BenchContext,
  settings: { seconds: number; connections: number; warmupSeconds: number },
  log: (line: string) => void,
): Promise<FloodResult> {
  // A TTL longer than the row, so every legitimate answer is a hit on the same copy.
  const service = await startService(ctx, 'service-flood', newPrefix(ctx), {
    CACHE_TTL_SECONDS: '86400',
  });
  try {
    const auth = { authorization: `Bearer ${ctx.clientKey}` };
    const fill = await fetch(`${service.url}/numbers/available`, { headers: auth });
    await fill.arrayBuffer();
    if (fill.status !== 200) throw new Error(`GET /numbers/available answered ${fill.status}`);
    if (settings.warmupSeconds > 0) {
      await autocannonLoader.run({
        url: `${service.url}/numbers/available`,
        connections: settings.connections,
        durationSeconds: settings.warmupSeconds,
        headers: auth,
      });
      await sleep(500);
    }
    const spec = {
      url: service.url,
      clientKey: ctx.clientKey,
      rate: LEGIT_RATE,
      seconds: settings.seconds,
    };
    log(`401 flood: legitimate client quiet, ${settings.seconds} s at ${LEGIT_RATE} req/s`);
    const quiet = await runLegitClient(spec);

    const unknownKey = `bench-unknown-${randomBytes(24).toString('base64url')}`;
    const floodSpec = {
      url: `${service.url}/numbers/available`,
      connections: settings.connections,
      durationSeconds: settings.seconds + 2 * FLOOD_MARGIN_SECONDS,
      headers: { authorization: `Bearer ${unknownKey}` },
    };
    truncateSync(service.logPath, 0);
    let sampler: ServerSampler | undefined;
    let server: ServerSample | undefined;
    const hooks = {
      onStart: () => (sampler = new ServerSampler(service.child.pid)),
      onEnd: () => (server = sampler?.finish()),
    };
    const wrk = findWrk();
    const floodInstrument: Instrument = wrk ? 'wrk' : 'autocannon';
    log(
      `401 flood: ${floodInstrument}, ${settings.connections} connections with an unknown key, legitimate client measured again`,
    );
    const flooding = wrk
      ? runWrk(wrk, ctx.tmpDir, { ...floodSpec, countStatuses: true }, hooks)
      : autocannonLoader.run(floodSpec, hooks);
    // Awaited below; this only keeps a failure from being unhandled while the legitimate client runs.
    flooding.catch(() => undefined);
    await sleep(FLOOD_MARGIN_SECONDS * 1000);
    const flooded = await runLegitClient(spec);
    const flood = await flooding;
    if (!server) throw new Error('the flood generator did not report its start');
    const grouped = groupLog(service.logPath);
    const result: FloodResult = {
      seconds: settings.seconds,
      rate: LEGIT_RATE,
      connections: settings.connections,
      quiet,
      flooded,
      p99Ratio: flooded.latencyMs.p99 / quiet.latencyMs.p99,
      floodInstrument,
      flood,
      server,
      cpuUsPerResponse: (server.cpuSeconds * 1e6) / (flood.responses + flooded.sent),
      logLines: grouped.lines,
      logByMessage: grouped.byMessage,
    };
    log(
      `  legitimate p99 quiet ${quiet.latencyMs.p99.toFixed(2)} ms, flooded ${flooded.latencyMs.p99.toFixed(2)} ms ` +
        `(×${result.p99Ratio.toFixed(2)}); flood ${flood.rps.toFixed(0)} req/s ${JSON.stringify(flood.statusCounts)}; ` +
        `${grouped.lines} log lines`,
    );
    return result;
  } finally {
    await stop(service.child);
  }
}
