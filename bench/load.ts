/**
 * One autocannon run in its own process pinned to the client core, so the load generator never
 * competes with the server for core 0 (nor with the orchestrator's bookkeeping for its own core).
 *
 * Run directly (`node dist/bench/load.js '<LoadSpec JSON>'`) it is the worker: it prints one
 * LoadResult JSON line. Imported, `runLoad` spawns that worker under `taskset` and parses it.
 *
 * Latency is taken from every response's own timing (autocannon's 'response' event, float ms)
 * rather than autocannon's histogram, which rounds to whole milliseconds: at 50 connections the
 * p50 of a fast server is 1-3 ms, where whole-ms rounding would hide the differences measured.
 */
import autocannon from 'autocannon';
import { distPath, runOnClientCore } from './servers';
import { summarize, type LatencySummary } from './stats';

export interface LoadSpec {
  readonly url: string;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly headers?: Record<string, string>;
}

/** The two load generators every throughput row is measured with. */
export type Instrument = 'autocannon' | 'wrk';

export interface LoadResult {
  readonly instrument: Instrument;
  /** Completed responses, any status. */
  readonly responses: number;
  readonly seconds: number;
  readonly rps: number;
  readonly latencyMs: LatencySummary;
  readonly statusCounts: Record<string, number>;
  readonly errors: number;
  readonly timeouts: number;
  /** Mean bytes read per response, headers included (status line, headers and body). */
  readonly bytesPerResponse: number;
  /** The load generator's CPU use in percent of one core: near 100 means the client, not the server, was the limit. */
  readonly clientCpuPercent: number;
}

/** Called when the load starts and when its result is in, so server sampling covers exactly the load. */
export interface LoadHooks {
  onStart?(): void;
  onEnd?(): void;
}

/** One load generator: runs one spec, pinned to the client core, and reports a LoadResult. */
export interface Loader {
  readonly instrument: Instrument;
  run(spec: LoadSpec, hooks?: LoadHooks): Promise<LoadResult>;
}

export const autocannonLoader: Loader = {
  instrument: 'autocannon',
  run: (spec, hooks) => runLoad(spec, hooks),
};

/** Runs the worker pinned to the client core; rejects if it fails or overruns its duration by 60 s. */
export async function runLoad(spec: LoadSpec, hooks: LoadHooks = {}): Promise<LoadResult> {
  let pending = '';
  let result: LoadResult | undefined;
  const { code, stderr } = await runOnClientCore(
    process.execPath,
    [distPath('bench', 'load.js'), JSON.stringify(spec)],
    spec.durationSeconds,
    (chunk) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line === STARTED) hooks.onStart?.();
        else if (line.startsWith('{')) {
          hooks.onEnd?.();
          const parsed = JSON.parse(line) as LoadResult;
          // JSON has no NaN: a run with no responses arrives with null percentiles.
          const latency = Object.fromEntries(
            Object.entries(parsed.latencyMs).map(([k, v]) => [k, v ?? NaN]),
          ) as unknown as LatencySummary;
          result = { ...parsed, latencyMs: latency };
        }
      }
    },
  );
  if (code === 0 && result) return result;
  throw new Error(
    `load worker exited with ${code} and ${result ? 'a' : 'no'} result: ${stderr.trim().slice(0, 500)}`,
  );
}

const STARTED = 'started';

function worker(spec: LoadSpec): void {
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  process.stdout.write(`${STARTED}\n`);
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const instance = autocannon(
    {
      url: spec.url,
      connections: spec.connections,
      duration: spec.durationSeconds,
      headers: spec.headers ?? {},
    },
    (error, result) => {
      if (error) {
        process.stderr.write(`${error.message}\n`);
        process.exit(1);
      }
      const cpu = process.cpuUsage(cpuBefore);
      const wallMs = performance.now() - wallBefore;
      const statusCounts: Record<string, number> = {};
      for (const [code, { count: n }] of Object.entries(result.statusCodeStats))
        statusCounts[code] = n;
      const responses = result.requests.total;
      const output: LoadResult = {
        instrument: 'autocannon',
        responses,
        seconds: result.duration,
        rps: responses / result.duration,
        latencyMs: summarize(latencies.subarray(0, count)),
        statusCounts,
        errors: result.errors,
        timeouts: result.timeouts,
        bytesPerResponse: responses ? result.throughput.total / responses : 0,
        clientCpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      };
      process.stdout.write(`${JSON.stringify(output)}\n`);
    },
  );
  instance.on('response', (_client, _status, _bytes, ms) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = ms;
  });
}

if (require.main === module) worker(JSON.parse(process.argv[2] ?? '{}') as LoadSpec);
