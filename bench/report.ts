/** The machine description and the Markdown report (printed, saved under results/, and as RESULTS.md). */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './servers';
import type { StampedeResult } from './stampede';
import type { RowSummary } from './measure';
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
  };
  machine: Machine;
  throughput?: ThroughputResult;
  throughputError?: string;
  stampedes: StampedeResult[];
  stampedeErrors: string[];
  readonly notes: string[];
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

export function describeMachine(nginx: string, redis: string): Machine {
  return {
    cpuModel: cpuModel(),
    cores: cpus().length,
    kernel: release(),
    node: process.version,
    nest: packageVersion('@nestjs/core'),
    platformFastify: packageVersion('@nestjs/platform-fastify'),
    fastify: packageVersion('fastify'),
    autocannon: packageVersion('autocannon'),
    ioredis: packageVersion('ioredis'),
    nginx,
    redis,
    loadAverageBefore: loadavg().map((v) => Number(v.toFixed(2))),
  };
}

const fixed = (value: number | undefined, digits: number): string =>
  value === undefined || !Number.isFinite(value) ? '' : value.toFixed(digits);

function mainRow(row: RowSummary): string {
  if (row.unavailable) return `| ${row.label} | ${row.unavailable} | | | | | | | |`;
  return (
    `| ${row.label} | ${fixed(row.rps, 0)} | ${fixed(row.ratio, 2)} | ${fixed(row.p50, 2)} | ${fixed(row.p99, 2)} | ${fixed(row.p99Ratio, 2)} ` +
    `| ${fixed(row.peakRssMiB, 0)} | ${fixed(row.cpuUsPerResponse, 0)} | ${fixed(row.cpuCostRatio, 2)} |`
  );
}

function detailRow(row: RowSummary): string {
  if (row.unavailable) return `| ${row.label} | ${row.unavailable} | | | | | | | |`;
  const perRound = row.rounds.map((r) => r.load.rps.toFixed(0)).join(' / ');
  const logs = row.rounds.some((r) => r.logLines !== undefined)
    ? row.rounds.map((r) => `${r.logLines}/${r.load.responses}`).join(', ')
    : '';
  return (
    `| ${row.label} | ${perRound} | ${fixed(row.serverCpuPercent, 0)} | ${fixed(row.core0BusyPercent, 0)} | ${fixed(row.clientCpuPercent, 0)} ` +
    `| ${fixed(row.core1BusyPercent, 0)} | ${fixed(row.bytesPerResponse, 0)} | ${fixed(row.redisCommandsPerResponse, 2)}${mix(row.redisCommandMix)} ` +
    `| ${row.unexpected ?? ''}${logs ? ` (log lines/responses: ${logs})` : ''} |`
  );
}

function mix(commands: Record<string, number> | undefined): string {
  const entries = Object.entries(commands ?? {});
  return entries.length
    ? ` (${entries.map(([name, n]) => `${name} ${n.toFixed(2)}`).join(', ')})`
    : '';
}

/** Requests per second one fully busy core would serve at the measured CPU cost per request. */
export function perCore(row: RowSummary | undefined): number | undefined {
  return row?.cpuUsPerResponse ? 1e6 / row.cpuUsPerResponse : undefined;
}

function capacity(rows: readonly RowSummary[]): string[] {
  const hit = rows.find((r) => r.id === 'service');
  const base = rows.find((r) => r.id === 'buffer');
  const perHit = perCore(hit);
  if (!hit || perHit === undefined) return [];
  return [
    `- **per core**: at ${fixed(hit.cpuUsPerResponse, 0)} µs of CPU per cache hit, one fully busy core serves about ${fixed(perHit, 0)} cache hits/s ` +
      `(bare node:http: ${fixed(perCore(base), 0)}/s). Measured under this load: ${fixed(hit.rps, 0)} req/s at ${fixed(hit.serverCpuPercent, 0)} % of a core.`,
  ];
}

const counts = (record: Partial<Record<string, number>>): string =>
  Object.entries(record)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');

/** (c): answered from the cache, and no slower than the same burst of fresh hits plus less than one upstream delay. */
function answeredAtOnce(s: StampedeResult, delayMs: number): boolean {
  const fromCache = (s.cacheCounts.stale ?? 0) + (s.cacheCounts.hit ?? 0);
  // Waiting for Superfone would add the upstream delay on top of what the same burst costs as fresh hits.
  return fromCache === s.requests && s.latencyMs.p99 < (s.reference?.latencyMs.p99 ?? 0) + delayMs;
}

/** The cold-stampede latency target: every client answered within 50 ms of the upstream's own delay. */
const COLD_MARGIN_MS = 50;

/** One line per scenario over all its runs. */
function stampedeVerdict(runs: readonly StampedeResult[], delayMs: number): string {
  const calls = runs.map((s) => s.upstreamCalls);
  const first = runs[0];
  const expected = first.kind === 'shared' ? 0 : 1;
  let line =
    `**${first.id}** ${first.scenario}: upstream calls per run ${calls.join(', ')}; ` +
    `${expected === 0 ? 'no' : 'one'} upstream call in every run: ${calls.every((c) => c === expected) ? 'yes' : '**NO**'}`;
  if (first.kind === 'cold' && first.replicas === 1) {
    const p99s = runs.map((s) => s.latencyMs.p99);
    const within = p99s.every((p99) => p99 <= delayMs + COLD_MARGIN_MS);
    line +=
      `; client p99 within ${COLD_MARGIN_MS} ms of the upstream's ${delayMs} ms (≤ ${delayMs + COLD_MARGIN_MS} ms) in every run: ` +
      `${within ? 'yes' : '**NO**'} (${p99s.map((p) => fixed(p, 1)).join(', ')} ms)`;
    if (first.reference) {
      line +=
        `; ${first.reference.label}: p99 ${runs.map((s) => fixed(s.reference?.latencyMs.p99, 1)).join(', ')} ms, ` +
        `so waiting for Superfone added ${runs.map((s) => fixed(s.latencyMs.p99 - (s.reference?.latencyMs.p99 ?? Number.NaN), 1)).join(', ')} ms`;
    }
  }
  if (first.kind === 'stale') {
    const atOnce = runs.map((s) => answeredAtOnce(s, delayMs));
    line +=
      `; every client answered at once from the stale copy: ${atOnce.every(Boolean) ? 'yes' : '**NO**'} ` +
      `(${runs.map((s) => `${s.cacheCounts.stale ?? 0} stale + ${s.cacheCounts.hit ?? 0} fresh of ${s.requests}, p99 ${fixed(s.latencyMs.p99, 1)} ms vs ${fixed(s.reference?.latencyMs.p99, 1)} ms for fresh hits`).join('; ')})`;
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

function stampedeRows(s: StampedeResult): string[] {
  const rows = [
    `| ${s.id} run ${s.run} | ${s.upstreamCalls} | ${counts(s.statusCounts)} | ${counts(s.cacheCounts)} | ${fixed(s.latencyMs.p50, 1)} | ${fixed(s.latencyMs.p99, 1)} | ${fixed(s.latencyMs.max, 1)} |`,
  ];
  if (s.reference) {
    const { label, latencyMs } = s.reference;
    rows.push(
      `| ${s.id} run ${s.run}, reference: ${label} | | | | ${fixed(latencyMs.p50, 1)} | ${fixed(latencyMs.p99, 1)} | ${fixed(latencyMs.max, 1)} |`,
    );
  }
  return rows;
}

/** The whole report as Markdown. */
export function renderMarkdown(report: BenchReport, stampedeDelayMs: number): string {
  const { settings, machine, throughput } = report;
  const lines: string[] = [
    '# superfone-bff benchmark results',
    '',
    `Run ${report.startedAt} (${settings.quick ? 'QUICK smoke run, not for quoting' : 'full run'}): ` +
      `${settings.rounds} interleaved round${settings.rounds > 1 ? 's' : ''} × ${settings.durationSeconds} s per server, ` +
      `${settings.connections} connections, ${settings.warmupSeconds} s warm-up per server; medians over rounds. ` +
      'Servers pinned to core 0, load generator to core 1 (`taskset`). Produced by `npm run bench`; see bench/README.md.',
    '',
    '## Cache hit: the same cached bytes, side by side',
    '',
  ];
  if (throughput) {
    lines.push(
      `Body: ${throughput.bodyBytes} bytes (${throughput.numbers} numbers), \`${throughput.contentType}\`, identical bytes from every peer: ` +
        `${Object.values(throughput.sameBytes).every(Boolean) ? 'yes' : `NO (${counts(Object.fromEntries(Object.entries(throughput.sameBytes).map(([k, v]) => [k, v ? 1 : 0])))})`}.`,
      '',
      '| server answering the same cached bytes | req/s | ratio to bare node:http | p50 ms | p99 ms | p99 ratio | peak RSS MiB | server CPU µs/req | CPU cost ratio |',
      '|---|---|---|---|---|---|---|---|---|',
      ...throughput.rows.map(mainRow),
      '',
      "- **ratio**: req/s ÷ the pre-serialized-Buffer server's req/s *in the same round*, median over rounds (1.00 = as fast as bare Node). " +
        '**p99 ratio**: p99 ÷ its p99 in the same round (above 1 = a slower tail).',
      '- **server CPU µs/req**: CPU time the server process(es) used during the run ÷ responses; **CPU cost ratio**: that ÷ the ' +
        "Buffer server's, same round. Unlike req/s it does not depend on whether the load generator could keep the server busy " +
        "(see run details); Redis's own CPU is not included.",
      `- **peak RSS**: highest resident memory sampled (every 200 ms) during that row's runs, summed over nginx's master and worker; ` +
        `superfone-bff's VmHWM after all its runs: ${fixed(throughput.serviceVmHwmMiB, 0)} MiB.`,
      ...capacity(throughput.rows),
      '',
      '### Run details',
      '',
      '| server | req/s per round | server CPU % | core 0 busy % | load-gen CPU % | core 1 busy % | bytes/response (with headers) | Redis commands/req | unexpected answers |',
      '|---|---|---|---|---|---|---|---|---|',
      ...throughput.rows.map(detailRow),
      '',
      "Server CPU % is of one core (core 0). Load-gen CPU near 100 % means autocannon, not the server, was the limit: that row's req/s " +
        'is then a floor, and the CPU cost columns are the fairer comparison. Core busy % counts every process on the core: well above the ' +
        "server's (or load generator's) own share means other work shared it during the run. Redis commands/req counts every client of the " +
        "shared Redis, a Lua script's inner commands included, by command in brackets (other users of the Redis add noise; the Redis GET row is 1 by construction).",
      `nginx: ${throughput.nginx}.`,
      '',
    );
  } else {
    lines.push(`Not measured: ${report.throughputError ?? 'unknown error'}`, '');
  }

  lines.push(
    '## Stampedes',
    '',
    `Superfone stand-in delay ${stampedeDelayMs} ms. Each run of each scenario on freshly started processes (pinned to core 0), a fresh random REDIS_KEY_PREFIX and a zeroed stand-in call counter; runs interleaved (a b c a b c …). ` +
      'The client connects one plain TCP socket per request before the burst (no HTTP request, so a fresh process is still cold), ' +
      "then writes every request in one event-loop turn; latency is from the burst's first write to each answer's last byte.",
    '',
    '| scenario | upstream calls | statuses | Cache-Status | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|---|---|',
    ...report.stampedes.flatMap(stampedeRows),
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
    `- Node ${machine.node}; @nestjs/core ${machine.nest}, @nestjs/platform-fastify ${machine.platformFastify}, fastify ${machine.fastify}; ioredis ${machine.ioredis}; autocannon ${machine.autocannon}`,
    `- nginx: ${machine.nginx}; Redis: ${machine.redis}`,
    `- load average before: ${machine.loadAverageBefore.join(' ')}; after: ${machine.loadAverageAfter?.join(' ') ?? '?'} ` +
      '(the bench itself keeps about 2 processes busy; well above that, other work shared the two cores)',
    '',
  );
  if (report.notes.length) lines.push('## Notes', '', ...report.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}
