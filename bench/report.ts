/**
 * The machine description, the targets and the Markdown report (printed, saved under results/,
 * and as RESULTS.md).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import type { BootResult } from './boot';
import type { FloodResult } from './flood';
import type { Instrument } from './load';
import type { InstrumentSummary, RoundResult, RowSummary } from './measure';
import { ROOT } from './servers';
import type { StampedeResult } from './stampede';
import type { ThroughputResult } from './throughput';

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly kernel: string;
  readonly node: string;
  readonly nest: string;
  readonly platformFastify: string;
  readonly fastify: string;
  readonly autocannon: string;
  readonly wrk: string;
  readonly ioredis: string;
  readonly nginx: string;
  readonly redis: string;
  loadAverageBefore: number[];
  loadAverageAfter?: number[];
}

export interface BenchReport {
  readonly startedAt: string;
  finishedAt?: string;
  readonly settings: {
    durationSeconds: number;
    rounds: number;
    connections: number;
    quick: boolean;
    warmupSeconds: number;
    boots: number;
    floodSeconds: number;
  };
  machine: Machine;
  boot?: BootResult;
  bootError?: string;
  throughput?: ThroughputResult;
  throughputError?: string;
  flood?: FloodResult;
  floodError?: string;
  stampedes: StampedeResult[];
  stampedeErrors: string[];
  readonly notes: string[];
  /** Wall-clock seconds per section, in the order they ran. */
  readonly sectionSeconds: Record<string, number>;
}

function packageVersion(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    return 'not found';
  }
}

function cpuModel(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const match = /^(?:model name|Model|Hardware|cpu model)\s*:\s*(.+)$/m.exec(info);
    if (match) return match[1].trim();
  } catch {
    // not Linux: fall through to what Node reports
  }
  return cpus()[0]?.model ?? 'unknown';
}

export function describeMachine(nginx: string, redis: string, wrk: string): Machine {
  return {
    cpuModel: cpuModel(),
    cores: cpus().length,
    kernel: release(),
    node: process.version,
    nest: packageVersion('@nestjs/core'),
    platformFastify: packageVersion('@nestjs/platform-fastify'),
    fastify: packageVersion('fastify'),
    autocannon: packageVersion('autocannon'),
    wrk,
    ioredis: packageVersion('ioredis'),
    nginx,
    redis,
    loadAverageBefore: loadavg().map((v) => Number(v.toFixed(2))),
  };
}

const fixed = (value: number | undefined, digits: number): string =>
  value === undefined || !Number.isFinite(value) ? '' : value.toFixed(digits);

/** MiB in one MB (10^6 bytes): the targets are in MB, /proc counts KiB. */
const MIB_PER_MB = 1e6 / 1048576;

/** The targets of the issue "Capacity", judged from one run. */
export const TARGETS = {
  /** Cache hit ÷ minimal Nest on Fastify, the lower of the two generators' ratios. */
  nestRatio: 0.8,
  /** Cache hit ÷ bare node:http, the lower of the two generators' ratios. */
  bareRatio: 0.35,
  /** Cache-hit p99 ÷ bare node:http's p99, the higher of the two generators' ratios. */
  p99Ratio: 3,
  peakRssMB: 120,
  idleRssMB: 100,
  bootMs: 500,
  /** Cold burst of 200 on one process: p99 − upstream delay. */
  coldOneMarginMs: 50,
  /** Cold burst of 500 over three processes on one Redis: p99 − upstream delay. */
  coldThreeMarginMs: 100,
  /** Burst on an expired entry: p50 ÷ the same burst of fresh hits' p50. */
  staleP50Ratio: 2,
  /** A legitimate client's p99 during a 401 flood ÷ its quiet p99. */
  floodP99Ratio: 3,
} as const;

export interface TargetVerdict {
  readonly target: string;
  readonly figure: string;
  /** undefined: not measured in this run. */
  readonly met: boolean | undefined;
}

const INSTRUMENT_SHORT: Record<Instrument, string> = { autocannon: 'autocannon', wrk: 'wrk' };

/** `16952 / 17810`: one figure per generator, in the order the table heads name them. */
function pair(
  row: RowSummary,
  instruments: readonly Instrument[],
  figure: (s: InstrumentSummary) => number | undefined,
  digits: number,
): string {
  return instruments
    .map((i) => fixed(row.by[i] ? figure(row.by[i]) : undefined, digits))
    .join(' / ');
}

function perInstrument(
  row: RowSummary | undefined,
  figure: (s: InstrumentSummary) => number,
  digits: number,
): string {
  if (!row) return '';
  return Object.entries(row.by)
    .map(([i, s]) => `${INSTRUMENT_SHORT[i as Instrument]} ${fixed(figure(s), digits)}`)
    .join(', ');
}

function mainRow(row: RowSummary, instruments: readonly Instrument[]): string {
  if (row.unavailable) return `| ${row.label} | ${row.unavailable} | | | | | | | | | | |`;
  const p = (f: (s: InstrumentSummary) => number, digits: number): string =>
    pair(row, instruments, f, digits);
  return (
    `| ${row.label} | ${p((s) => s.rps, 0)} | ${p((s) => s.ratio, 2)} | ${p((s) => s.nestRatio, 2)} ` +
    `| **${fixed(row.ratio, 2)}** | **${fixed(row.nestRatio, 2)}** | ${p((s) => s.p50, 2)} | ${p((s) => s.p99, 2)} ` +
    `| ${p((s) => s.p99Ratio, 2)} | ${p((s) => s.cpuUsPerResponse, 0)} | ${p((s) => s.cpuCostRatio, 2)} | ${fixed(row.peakRssMiB, 0)} |`
  );
}

function detailRows(row: RowSummary, answerBytes: number | undefined): string[] {
  if (row.unavailable) return [`| ${row.label} | | ${row.unavailable} | | | | | | | |`];
  return Object.entries(row.by).map(([instrument, s]) => {
    const perRound = s.rounds.map((r) => r.load.rps.toFixed(0)).join(' / ');
    const logs = s.rounds.some((r) => r.logLines !== undefined)
      ? s.rounds.map((r) => `${r.logLines}/${r.load.responses}`).join(', ')
      : '';
    const why = [
      ...new Set(s.rounds.flatMap((r) => (r.unexpectedDetail ? [r.unexpectedDetail] : []))),
    ];
    return (
      `| ${row.label} | ${instrument} | ${perRound} | ${fixed(s.serverCpuPercent, 0)} | ${fixed(s.core0BusyPercent, 0)} | ${fixed(s.clientCpuPercent, 0)} ` +
      `| ${fixed(s.core1BusyPercent, 0)} | ${fixed(s.bytesPerResponse, 0)}${answerBytes ? ` (${answerBytes})` : ''} | ${fixed(s.redisCommandsPerResponse, 2)}${mix(s.redisCommandMix)} ` +
      `| ${s.unexpected ? `**${s.unexpected}** (${why.join('; ')})` : '0'}${logs ? ` (log lines/responses: ${logs})` : ''} |`
    );
  });
}

function mix(commands: Record<string, number> | undefined): string {
  const entries = Object.entries(commands ?? {});
  return entries.length
    ? ` (${entries.map(([name, n]) => `${name} ${n.toFixed(2)}`).join(', ')})`
    : '';
}

/** Requests per second one fully busy core would serve at the measured CPU cost per request. */
export function perCore(cpuUsPerResponse: number | undefined): number | undefined {
  return cpuUsPerResponse ? 1e6 / cpuUsPerResponse : undefined;
}

function capacity(rows: readonly RowSummary[]): string[] {
  const hit = rows.find((r) => r.id === 'service');
  const base = rows.find((r) => r.id === 'buffer');
  if (!hit) return [];
  // The higher CPU cost of the two generators' runs: the pessimistic figure, like the result column.
  const cost = (row: RowSummary | undefined): number | undefined => {
    const costs = Object.values(row?.by ?? {})
      .map((s) => s.cpuUsPerResponse)
      .filter(Number.isFinite);
    return costs.length ? Math.max(...costs) : undefined;
  };
  const perHit = perCore(cost(hit));
  if (perHit === undefined) return [];
  return [
    `- **per core**: at ${fixed(cost(hit), 0)} µs of CPU per cache hit (the higher of the two generators' runs), one fully busy core serves about ${fixed(perHit, 0)} cache hits/s ` +
      `(bare node:http: ${fixed(perCore(cost(base)), 0)}/s). Measured under this load: ${perInstrument(hit, (s) => s.rps, 0)} req/s at ${perInstrument(hit, (s) => s.serverCpuPercent, 0)} % of a core.`,
  ];
}

/** Rows whose two generators read a different number of bytes per response. */
function bytesComparison(throughput: ThroughputResult): string {
  if (throughput.instruments.length < 2) return '';
  const parts = throughput.rows.flatMap((row) => {
    const a = row.by.autocannon?.bytesPerResponse;
    const w = row.by.wrk?.bytesPerResponse;
    if (a === undefined || w === undefined) return [];
    const diff = w - a;
    return [
      `${row.label}: ${a.toFixed(0)} / ${w.toFixed(0)}${Math.abs(diff) >= 1 ? ` (wrk ${diff > 0 ? '+' : ''}${diff.toFixed(0)} B)` : ''}`,
    ];
  });
  return `- **bytes/response, autocannon / wrk** (one answer read alone on a raw socket in brackets in the run details): ${parts.join('; ')}.`;
}

const counts = (record: Partial<Record<string, number>>): string =>
  Object.entries(record)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');

/** Every throughput run (and the /metrics run) that got an answer it should not have. */
function unexpectedAnswers(report: BenchReport): string[] {
  const t = report.throughput;
  if (!t) return [];
  const found: string[] = [];
  for (const row of t.rows) {
    for (const [instrument, s] of Object.entries(row.by)) {
      for (const r of s.rounds) {
        if (r.unexpected || r.load.responses === 0)
          found.push(
            `${row.label}, ${instrument}, round ${r.round}: ${r.unexpected} (${r.unexpectedDetail ?? 'no responses'})`,
          );
      }
    }
  }
  const peers = new Map(t.rows.map((r) => [r.id, r]));
  for (const [id, check] of Object.entries(t.wrkChecks)) {
    const total = Object.values(check.statusCounts).reduce((a, b) => a + b, 0);
    const expected = check.statusCounts[String(check.expectStatus)] ?? 0;
    if (expected !== total || total === 0 || check.errors || check.timeouts)
      found.push(
        `${peers.get(id)?.label ?? id}, wrk check run: ${counts(check.statusCounts)}, ${check.errors} socket errors, ${check.timeouts} timeouts`,
      );
  }
  if (t.metrics && t.metrics.unexpected)
    found.push(`GET /metrics: ${t.metrics.unexpected} (${t.metrics.unexpectedDetail ?? ''})`);
  return found;
}

/** The p99 of each run of a scenario minus the upstream delay. */
const overDelay = (runs: readonly StampedeResult[], delayMs: number): number[] =>
  runs.map((s) => s.latencyMs.p99 - delayMs);

/** A stale burst's p50 ÷ the p50 of the same burst of fresh hits just before. */
const staleP50Ratio = (s: StampedeResult): number =>
  s.latencyMs.p50 / (s.reference?.latencyMs.p50 ?? Number.NaN);

const fromStaleCopy = (s: StampedeResult): boolean =>
  (s.cacheCounts.stale ?? 0) + (s.cacheCounts.hit ?? 0) === s.requests &&
  (s.statusCounts['200'] ?? 0) === s.requests;

/** Every target, met or not, with the figure it was judged on. */
export function judgeTargets(report: BenchReport, delayMs: number): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  const rows = report.throughput?.rows ?? [];
  const hit = rows.find((r) => r.id === 'service' && !r.unavailable);
  const notModified = rows.find((r) => r.id === 'service-304' && !r.unavailable);
  const notMeasured = (target: string, why: string): TargetVerdict => ({
    target,
    figure: `not measured: ${why}`,
    met: undefined,
  });
  const throughputWhy = report.throughputError ?? 'no cache-hit row';

  const ratioTarget = (
    target: string,
    value: number | undefined,
    figure: (s: InstrumentSummary) => number,
    min: number,
  ): TargetVerdict =>
    hit && value !== undefined
      ? {
          target,
          figure: `${fixed(value, 2)} (${perInstrument(hit, figure, 2)})`,
          met: value >= min,
        }
      : notMeasured(target, throughputWhy);
  verdicts.push(
    ratioTarget(
      `cache hit ≥ ${TARGETS.nestRatio} × minimal NestJS on Fastify (lower of the two generators)`,
      hit?.nestRatio,
      (s) => s.nestRatio,
      TARGETS.nestRatio,
    ),
    ratioTarget(
      `cache hit ≥ ${TARGETS.bareRatio} × bare node:http (lower of the two generators)`,
      hit?.ratio,
      (s) => s.ratio,
      TARGETS.bareRatio,
    ),
  );
  {
    const target = `cache-hit p99 ≤ ${TARGETS.p99Ratio} × bare node:http's (higher of the two generators' p99 ratios)`;
    const ratios = Object.values(hit?.by ?? {})
      .map((s) => s.p99Ratio)
      .filter(Number.isFinite);
    verdicts.push(
      hit && ratios.length
        ? {
            target,
            figure: `${fixed(Math.max(...ratios), 2)} (${perInstrument(hit, (s) => s.p99Ratio, 2)}; p99 ${perInstrument(hit, (s) => s.p99, 2)} ms)`,
            met: Math.max(...ratios) <= TARGETS.p99Ratio,
          }
        : notMeasured(target, throughputWhy),
    );
  }
  {
    const target = 'a 304 at least as fast as a 200 (req/s, with each generator)';
    const pairs = Object.entries(hit?.by ?? {}).flatMap(([i, s]) => {
      const other = notModified?.by[i as Instrument];
      return other ? [{ i, hit: s, nm: other }] : [];
    });
    verdicts.push(
      pairs.length
        ? {
            target,
            figure: pairs
              .map(
                (p) =>
                  `${p.i} ${fixed(p.nm.rps, 0)} vs ${fixed(p.hit.rps, 0)} req/s (CPU ${fixed(p.nm.cpuUsPerResponse, 0)} vs ${fixed(p.hit.cpuUsPerResponse, 0)} µs/req)`,
              )
              .join('; '),
            met: pairs.every((p) => p.nm.rps >= p.hit.rps),
          }
        : notMeasured(target, throughputWhy),
    );
  }
  {
    const limit = TARGETS.peakRssMB * MIB_PER_MB;
    const target = `peak RSS under load ≤ ${TARGETS.peakRssMB} MB (${limit.toFixed(1)} MiB)`;
    const hwm = report.throughput?.serviceVmHwmMiB;
    const sampled = Math.max(hit?.peakRssMiB ?? 0, notModified?.peakRssMiB ?? 0);
    const floorPeak = rows.find((r) => r.id === 'nest' && !r.unavailable)?.peakRssMiB;
    const peak = Math.max(hwm ?? 0, sampled);
    verdicts.push(
      hit && peak > 0
        ? {
            target,
            figure:
              `VmHWM ${fixed(hwm, 1)} MiB after the cache-hit and 304 rows (highest sampled RSS ${fixed(sampled, 1)} MiB)` +
              (floorPeak
                ? `; minimal-Nest floor's highest sampled RSS ${fixed(floorPeak, 1)} MiB`
                : ''),
            met: peak <= limit,
          }
        : notMeasured(target, throughputWhy),
    );
  }
  const boot = report.boot;
  {
    const limit = TARGETS.idleRssMB * MIB_PER_MB;
    const target = `idle RSS ≤ ${TARGETS.idleRssMB} MB (${limit.toFixed(1)} MiB), 2 s after ready, median of the boots`;
    verdicts.push(
      boot
        ? {
            target,
            figure: `${fixed(boot.idleRssMiBMedian, 1)} MiB (max ${fixed(boot.idleRssMiBMax, 1)} over ${boot.runs.length} boots); minimal-Nest floor ${fixed(boot.floor.idleRssMiBMedian, 1)} MiB`,
            met: boot.idleRssMiBMedian <= limit,
          }
        : notMeasured(target, report.bootError ?? 'boot section did not run'),
    );
  }
  {
    const target = `boot to ready ≤ ${TARGETS.bootMs} ms (spawn to the first 200 from /health/ready), median of the boots`;
    verdicts.push(
      boot
        ? {
            target,
            figure: `${fixed(boot.readyMsMedian, 0)} ms (max ${fixed(boot.readyMsMax, 0)} over ${boot.runs.length} boots); minimal-Nest floor ${fixed(boot.floor.readyMsMedian, 0)} ms`,
            met: boot.readyMsMedian <= TARGETS.bootMs,
          }
        : notMeasured(target, report.bootError ?? 'boot section did not run'),
    );
  }

  const byId = (id: string): StampedeResult[] => report.stampedes.filter((s) => s.id === id);
  const coldTarget = (id: string, what: string, margin: number): void => {
    const runs = byId(id);
    const target = `${what}: p99 ≤ upstream delay + ${margin} ms (≤ ${delayMs + margin} ms), every run`;
    if (!runs.length) {
      verdicts.push(notMeasured(target, 'no run (see the stampede section)'));
      return;
    }
    const over = overDelay(runs, delayMs);
    verdicts.push({
      target,
      figure: `p99 − ${delayMs} ms: ${over.map((o) => fixed(o, 1)).join(', ')} ms`,
      met: over.every((o) => o <= margin),
    });
  };
  coldTarget(
    '(a) fresh process',
    'cold burst of 200 on one freshly started process',
    TARGETS.coldOneMarginMs,
  );
  coldTarget(
    '(a) warm process',
    'cold burst of 200 on one process that has served traffic',
    TARGETS.coldOneMarginMs,
  );
  coldTarget(
    '(b)',
    'cold burst of 500 over three processes on one Redis',
    TARGETS.coldThreeMarginMs,
  );
  {
    const runs = report.stampedes.filter((s) => s.kind !== 'shared');
    const target = 'one upstream call per stampede, every run';
    verdicts.push(
      runs.length
        ? {
            target,
            figure: [...new Set(runs.map((s) => s.id))]
              .map(
                (id) =>
                  `${id}: ${byId(id)
                    .map((s) => s.upstreamCalls)
                    .join(', ')}`,
              )
              .join('; '),
            met: runs.every((s) => s.upstreamCalls === 1),
          }
        : notMeasured(target, 'no stampede ran'),
    );
  }
  {
    const runs = byId('(c)');
    const target = `burst of 200 on an expired entry: every answer from the stale copy, p50 ≤ ${TARGETS.staleP50Ratio} × the same burst of fresh hits, every run`;
    verdicts.push(
      runs.length
        ? {
            target,
            figure: runs
              .map(
                (s) =>
                  `${fixed(s.latencyMs.p50, 1)} vs ${fixed(s.reference?.latencyMs.p50, 1)} ms (×${fixed(staleP50Ratio(s), 2)}), ${s.cacheCounts.stale ?? 0} stale of ${s.requests}`,
              )
              .join('; '),
            met: runs.every((s) => fromStaleCopy(s) && staleP50Ratio(s) <= TARGETS.staleP50Ratio),
          }
        : notMeasured(target, 'no run (see the stampede section)'),
    );
  }
  {
    const flood = report.flood;
    const target = `a legitimate client's p99 under a 401 flood ≤ ${TARGETS.floodP99Ratio} × its quiet p99`;
    verdicts.push(
      flood
        ? {
            target,
            figure: `${fixed(flood.flooded.latencyMs.p99, 2)} vs ${fixed(flood.quiet.latencyMs.p99, 2)} ms quiet (×${fixed(flood.p99Ratio, 2)})`,
            met:
              flood.p99Ratio <= TARGETS.floodP99Ratio &&
              (flood.flooded.statusCounts['200'] ?? 0) === flood.flooded.sent,
          }
        : notMeasured(target, report.floodError ?? 'flood row did not run'),
    );
  }
  return verdicts;
}

function stampedeVerdict(runs: readonly StampedeResult[], delayMs: number): string {
  const calls = runs.map((s) => s.upstreamCalls);
  const first = runs[0];
  const expected = first.kind === 'shared' ? 0 : 1;
  let line =
    `**${first.id}** ${first.scenario}: upstream calls per run ${calls.join(', ')}; ` +
    `${expected === 0 ? 'no' : 'one'} upstream call in every run: ${calls.every((c) => c === expected) ? 'yes' : '**NO**'}`;
  if (first.kind === 'cold') {
    const margin = first.replicas === 1 ? TARGETS.coldOneMarginMs : TARGETS.coldThreeMarginMs;
    const over = overDelay(runs, delayMs);
    line +=
      `; p99 − the upstream's ${delayMs} ms: ${over.map((o) => fixed(o, 1)).join(', ')} ms, ≤ ${margin} ms in every run: ` +
      (over.every((o) => o <= margin) ? 'yes' : '**NO**');
    if (first.reference) {
      line +=
        `; ${first.reference.label}: p99 ${runs.map((s) => fixed(s.reference?.latencyMs.p99, 1)).join(', ')} ms, ` +
        `so waiting for Superfone added ${runs.map((s) => fixed(s.latencyMs.p99 - (s.reference?.latencyMs.p99 ?? Number.NaN), 1)).join(', ')} ms`;
    }
  }
  if (first.kind === 'stale') {
    line +=
      `; every answer from the stale copy and p50 ≤ ${TARGETS.staleP50Ratio} × the fresh burst's: ` +
      `${runs.every((s) => fromStaleCopy(s) && staleP50Ratio(s) <= TARGETS.staleP50Ratio) ? 'yes' : '**NO**'} ` +
      `(${runs.map((s) => `${s.cacheCounts.stale ?? 0} stale + ${s.cacheCounts.hit ?? 0} fresh of ${s.requests}, p50 ${fixed(s.latencyMs.p50, 1)} vs ${fixed(s.reference?.latencyMs.p50, 1)} ms, ×${fixed(staleP50Ratio(s), 2)}`).join('; ')})`;
  }
  const warnings: Record<string, number> = {};
  for (const s of runs)
    for (const [k, v] of Object.entries(s.warnings)) warnings[k] = (warnings[k] ?? 0) + v;
  const notes = runs.filter((s) => s.note).map((s) => `run ${s.run}: ${s.note}`);
  return (
    `- ${line}. Service log lines at warn or above: ${Object.keys(warnings).length ? counts(warnings) : 'none'}` +
    (notes.length ? `. ${notes.join('; ')}` : '')
  );
}

function stampedeRows(s: StampedeResult, delayMs: number): string[] {
  const over = s.kind === 'cold' ? fixed(s.latencyMs.p99 - delayMs, 1) : '';
  const p50Ratio = s.kind === 'stale' ? fixed(staleP50Ratio(s), 2) : '';
  const rows = [
    `| ${s.id} run ${s.run} | ${s.upstreamCalls} | ${counts(s.statusCounts)} | ${counts(s.cacheCounts)} | ${fixed(s.latencyMs.p50, 1)} | ${fixed(s.latencyMs.p99, 1)} | ${fixed(s.latencyMs.max, 1)} | ${over} | ${p50Ratio} |`,
  ];
  if (s.reference) {
    const { label, latencyMs } = s.reference;
    rows.push(
      `| ${s.id} run ${s.run}, reference: ${label} | | | | ${fixed(latencyMs.p50, 1)} | ${fixed(latencyMs.p99, 1)} | ${fixed(latencyMs.max, 1)} | | |`,
    );
  }
  return rows;
}

function throughputSection(report: BenchReport): string[] {
  const { throughput } = report;
  if (!throughput) return [`Not measured: ${report.throughputError ?? 'unknown error'}`, ''];
  const instruments = throughput.instruments;
  const heads = instruments.join(' / ');
  return [
    `Body: ${throughput.bodyBytes} bytes (${throughput.numbers} numbers), \`${throughput.contentType}\`, identical bytes from every peer: ` +
      `${Object.values(throughput.sameBytes).every(Boolean) ? 'yes' : `NO (${counts(Object.fromEntries(Object.entries(throughput.sameBytes).map(([k, v]) => [k, v ? 1 : 0])))})`}. ` +
      `Load generators: ${instruments.join(' and ')}${throughput.wrk === 'measured' ? '' : ` (wrk: ${throughput.wrk})`}; where two figures share a cell they are ${heads}.`,
    '',
    `| server answering the same cached bytes | req/s (${heads}) | ratio to bare node:http (${heads}) | ratio to minimal Nest (${heads}) | **result**: lower ratio to bare | **result**: lower ratio to minimal Nest | p50 ms | p99 ms | p99 ratio | server CPU µs/req | CPU cost ratio | peak RSS MiB |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...throughput.rows.map((row) => mainRow(row, instruments)),
    '',
    "- **ratio**: req/s ÷ the pre-serialized-Buffer server's req/s *in the same round, with the same generator*, median over rounds (1.00 = as fast as bare Node); " +
      "**ratio to minimal Nest** the same against the minimal NestJS-on-Fastify row. **result**: the lower of the two generators' ratios, the figure the targets judge. " +
      "**p99 ratio**: p99 ÷ the Buffer server's p99, same round and generator (above 1 = a slower tail).",
    '- **server CPU µs/req**: CPU time the server process(es) used during the run ÷ responses; **CPU cost ratio**: that ÷ the ' +
      "Buffer server's, same round and generator. Unlike req/s it does not depend on whether the load generator could keep the server busy " +
      "(see run details); Redis's own CPU is not included.",
    "- **latency**: autocannon's percentiles are each response's raw time; wrk corrects its histogram for coordinated omission before printing it " +
      "(every sample longer than a connection's mean interval adds synthetic samples), so after any stall its percentiles are higher than autocannon's: " +
      'compare latency within a generator (the p99 ratio), not across.',
    `- **peak RSS**: highest resident memory sampled (every 200 ms) during that row's runs with either generator, summed over nginx's master and worker; ` +
      `superfone-bff's VmHWM after all its runs: ${fixed(throughput.serviceVmHwmMiB, 0)} MiB.`,
    ...capacity(throughput.rows),
    bytesComparison(throughput),
    '',
    '### Run details',
    '',
    '| server | generator | req/s per round | server CPU % | core 0 busy % | load-gen CPU % | core 1 busy % | bytes/response (one answer alone) | Redis commands/req | unexpected answers |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...throughput.rows.flatMap((row) => detailRows(row, throughput.answerBytes[row.id])),
    '',
    "Server CPU % is of one core (core 0). Load-gen CPU near 100 % means the load generator, not the server, was the limit: that row's req/s " +
      'with that generator is then a floor, and the CPU cost columns are the fairer comparison. Core busy % counts every process on the core: well above the ' +
      "server's (or load generator's) own share means other work shared it during the run. Redis commands/req counts every client of the " +
      "shared Redis, a Lua script's inner commands included, by command in brackets (other users of the Redis add noise; the Redis GET row is 1 by construction). " +
      "Unexpected answers: statuses other than the row's (wrk's measured runs count those of 400 or more), socket errors, timeouts, and runs whose bytes/response " +
      'is more than 10 % off the one answer read alone (all their responses count).',
    Object.keys(throughput.wrkChecks).length
      ? `wrk check runs (1 s per server before the rounds, a response() hook counting every status): ${throughput.rows
          .filter((r) => r.id in throughput.wrkChecks)
          .map((r) => `${r.label}: ${counts(throughput.wrkChecks[r.id].statusCounts)}`)
          .join('; ')}.`
      : `wrk: ${throughput.wrk}.`,
    `nginx: ${throughput.nginx}.`,
    '',
    '### Other rates',
    '',
    '| what | generator | req/s | p50 ms | p99 ms | server CPU µs/req | server CPU % | peak RSS MiB | bytes/response | unexpected answers |',
    '|---|---|---|---|---|---|---|---|---|---|',
    throughput.metrics
      ? metricsRow(throughput.metrics)
      : `| superfone-bff GET /metrics | | not measured: ${throughput.metricsError ?? 'unknown error'} | | | | | | | |`,
    '',
    `GET /metrics on the API port after the cache-hit rows (the registry holds their series), ${throughput.metrics ? fixed(throughput.metrics.load.seconds, 0) : '?'} s, ` +
      `${report.settings.connections} connections. The service's VmHWM after it: ${fixed(throughput.metricsVmHwmMiB, 0)} MiB.`,
    '',
  ];
}

function metricsRow(r: RoundResult): string {
  return (
    `| superfone-bff GET /metrics | ${r.instrument} | ${fixed(r.load.rps, 0)} | ${fixed(r.load.latencyMs.p50, 2)} | ${fixed(r.load.latencyMs.p99, 2)} ` +
    `| ${fixed(r.cpuUsPerResponse, 0)} | ${fixed(r.server.cpuPercent, 0)} | ${fixed(r.server.peakRssMiB, 0)} | ${fixed(r.load.bytesPerResponse, 0)} ` +
    `| ${r.unexpected ? `**${r.unexpected}** (${r.unexpectedDetail ?? ''})` : '0'} |`
  );
}

function bootSection(report: BenchReport): string[] {
  const { boot } = report;
  const lines = ['## Boot to ready and idle memory', ''];
  if (!boot) return [...lines, `Not measured: ${report.bootError ?? 'unknown error'}`, ''];
  return [
    ...lines,
    `The service started ${boot.runs.length} times as the bench starts it (Redis configured, \`npm start\`'s V8 flags, core 0), each on a fresh key prefix; ` +
      'ready = from the spawn to the first 200 from /health/ready, probed every 5 ms from core 1 on a new connection each time. ' +
      'Idle RSS: VmRSS about 2 s after ready, with no traffic but that probe.',
    '',
    '| boot | ready ms | probes | idle RSS MiB | VmHWM MiB |',
    '|---|---|---|---|---|',
    ...boot.runs.map(
      (r, i) =>
        `| ${i + 1} | ${fixed(r.readyMs, 0)} | ${r.probes} | ${fixed(r.idleRssMiB, 1)} | ${fixed(r.idleHwmMiB, 1)} |`,
    ),
    `| **median** (max) | **${fixed(boot.readyMsMedian, 0)}** (${fixed(boot.readyMsMax, 0)}) | | **${fixed(boot.idleRssMiBMedian, 1)}** (${fixed(boot.idleRssMiBMax, 1)}) | (${fixed(boot.idleHwmMiBMax, 1)}) |`,
    '',
    'The framework floor, booted after each of the above: the minimal NestJS-on-Fastify app of the throughput table, ' +
      "bundled like the service and started with `npm start`'s environment and V8 flags (bench/floor.ts); ready = its first 200.",
    '',
    '| floor boot | ready ms | probes | idle RSS MiB | VmHWM MiB |',
    '|---|---|---|---|---|',
    ...boot.floor.runs.map(
      (r, i) =>
        `| ${i + 1} | ${fixed(r.readyMs, 0)} | ${r.probes} | ${fixed(r.idleRssMiB, 1)} | ${fixed(r.idleHwmMiB, 1)} |`,
    ),
    `| **median** | **${fixed(boot.floor.readyMsMedian, 0)}** | | **${fixed(boot.floor.idleRssMiBMedian, 1)}** | |`,
    '',
  ];
}

function legitRow(label: string, r: FloodResult['quiet']): string {
  return (
    `| ${label} | ${r.sent}/${r.planned} | ${counts(r.statusCounts)} | ${fixed(r.latencyMs.p50, 2)} | ${fixed(r.latencyMs.p90, 2)} ` +
    `| ${fixed(r.latencyMs.p99, 2)} | ${fixed(r.latencyMs.max, 2)} | ${fixed(r.lagMs.p99, 2)} | ${r.reconnects} | ${fixed(r.clientCpuPercent, 0)} |`
  );
}

function floodSection(report: BenchReport): string[] {
  const { flood } = report;
  const lines = ['## 401 flood: a legitimate client while unknown keys pour in', ''];
  if (!flood) return [...lines, `Not measured: ${report.floodError ?? 'unknown error'}`, ''];
  const f = flood.flood;
  return [
    ...lines,
    `A freshly started service (the bench's settings; everything about failed authentication at its defaults), its cache filled and warmed up with hits. ` +
      `The legitimate client: one keep-alive connection, a valid key, cache hits, one request per slot at ${flood.rate} req/s (never two at once: a slot that passes while an answer is outstanding is skipped), ` +
      'each answer timed from its write to its last byte; ' +
      `${flood.seconds} s quiet, then ${flood.seconds} s while the flood runs (which starts 1 s before and stops 1 s after). ` +
      `The flood: ${flood.floodInstrument}, ${flood.connections} connections, an unknown key, as fast as the service answers. Both clients on core 1, the service on core 0.`,
    '',
    '| legitimate client | sent/planned | statuses | p50 ms | p90 ms | p99 ms | max ms | send lag p99 ms | reconnects | client CPU % |',
    '|---|---|---|---|---|---|---|---|---|---|',
    legitRow('quiet', flood.quiet),
    legitRow('during the flood', flood.flooded),
    '',
    `- **p99 during the flood ÷ quiet p99: ${fixed(flood.p99Ratio, 2)}** (p50 ×${fixed(flood.flooded.latencyMs.p50 / flood.quiet.latencyMs.p50, 2)}).`,
    `- **the flood**: ${fixed(f.rps, 0)} req/s over ${fixed(f.seconds, 1)} s, statuses ${counts(f.statusCounts)}, ${f.errors} socket errors, ${f.timeouts} timeouts; ` +
      `p50 ${fixed(f.latencyMs.p50, 2)} ms, p99 ${fixed(f.latencyMs.p99, 2)} ms; ${fixed(f.bytesPerResponse, 0)} bytes/response; load-gen CPU ${fixed(f.clientCpuPercent, 0)} %.`,
    `- **the service during the flood**: ${fixed(flood.server.cpuPercent, 0)} % of core 0 (core 0 busy ${fixed(flood.server.coreBusyPercent[0], 0)} %, core 1 busy ${fixed(flood.server.coreBusyPercent[1], 0)} %), ` +
      `${fixed(flood.cpuUsPerResponse, 0)} µs CPU per answer, peak RSS ${fixed(flood.server.peakRssMiB, 0)} MiB.`,
    `- **service log lines during the flood**: ${flood.logLines} (${counts(flood.logByMessage)}).`,
    '- **sent/planned**: slots skipped because the previous answer was still outstanding show as sent < planned. ' +
      "**send lag**: how late a request went out against its slot: the client's own lateness (its timer, or waiting for core 1), not the service's.",
    '',
  ];
}

function targetsSection(report: BenchReport, delayMs: number): string[] {
  const verdicts = judgeTargets(report, delayMs);
  const mark = (v: TargetVerdict): string =>
    v.met === undefined ? 'not measured' : v.met ? 'met' : '**not met**';
  return [
    '## Targets',
    '',
    '| target | figure | verdict |',
    '|---|---|---|',
    ...verdicts.map((v) => `| ${v.target} | ${v.figure} | ${mark(v)} |`),
    '',
  ];
}

/** The whole report as Markdown. */
export function renderMarkdown(report: BenchReport, stampedeDelayMs: number): string {
  const { settings, machine } = report;
  const unexpected = unexpectedAnswers(report);
  const lines: string[] = [
    '# superfone-bff benchmark results',
    '',
    `Run ${report.startedAt} (${settings.quick ? 'QUICK smoke run, not for quoting' : 'full run'}): ` +
      `${settings.rounds} interleaved round${settings.rounds > 1 ? 's' : ''} × ${settings.durationSeconds} s per server and load generator, ` +
      `${settings.connections} connections, ${settings.warmupSeconds} s warm-up per server; medians over rounds; ${settings.boots} boots; ` +
      `401 flood ${settings.floodSeconds} s quiet + ${settings.floodSeconds} s flooded. ` +
      'Servers pinned to core 0, load generators to core 1 (`taskset`). Produced by `npm run bench`; see bench/README.md.',
    '',
    `Took ${fixed((Date.parse(report.finishedAt ?? '') - Date.parse(report.startedAt)) / 60_000, 1)} min: ` +
      `${Object.entries(report.sectionSeconds)
        .map(([name, seconds]) => `${name} ${seconds.toFixed(0)} s`)
        .join(', ')}.`,
    '',
    ...(unexpected.length
      ? [
          `**UNEXPECTED ANSWERS** (the figures of these runs are not what they claim to be): ${unexpected.join('; ')}`,
          '',
        ]
      : []),
    ...targetsSection(report, stampedeDelayMs),
    '## Cache hit: the same cached bytes, side by side',
    '',
    ...throughputSection(report),
    ...bootSection(report),
    ...floodSection(report),
    '## Stampedes',
    '',
    `Superfone stand-in delay ${stampedeDelayMs} ms. Each run of each scenario on freshly started processes (pinned to core 0), a fresh random REDIS_KEY_PREFIX and a zeroed stand-in call counter; runs interleaved (a b c a b c …). ` +
      'The client connects one plain TCP socket per request before the burst (no HTTP request, so a fresh process is still cold), ' +
      "then writes every request in one event-loop turn; latency is from the burst's first write to each answer's last byte.",
    '',
    `| scenario | upstream calls | statuses | Cache-Status | p50 ms | p99 ms | max ms | p99 − ${stampedeDelayMs} ms upstream delay | p50 ÷ reference p50 |`,
    '|---|---|---|---|---|---|---|---|---|',
    ...report.stampedes.flatMap((s) => stampedeRows(s, stampedeDelayMs)),
    '',
    ...[...new Set(report.stampedes.map((s) => s.id))].map((id) =>
      stampedeVerdict(
        report.stampedes.filter((s) => s.id === id),
        stampedeDelayMs,
      ),
    ),
    ...report.stampedeErrors.map((e) => `- not measured: ${e}`),
    '',
    '## Machine',
    '',
    `- CPU: ${machine.cpuModel}, ${machine.cores} cores; kernel ${machine.kernel}`,
    `- Node ${machine.node}; @nestjs/core ${machine.nest}, @nestjs/platform-fastify ${machine.platformFastify}, fastify ${machine.fastify}; ioredis ${machine.ioredis}; autocannon ${machine.autocannon}; wrk ${machine.wrk}`,
    `- nginx: ${machine.nginx}; Redis: ${machine.redis}`,
    `- load average before: ${machine.loadAverageBefore.join(' ')}; after: ${machine.loadAverageAfter?.join(' ') ?? '?'} ` +
      '(the bench itself keeps about 2 processes busy; well above that, other work shared the two cores)',
    '',
  ];
  if (report.notes.length) lines.push('## Notes', '', ...report.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

/** True when any throughput run got answers it should not have: the run fails loudly. */
export function hasUnexpectedAnswers(report: BenchReport): boolean {
  return unexpectedAnswers(report).length > 0;
}
