/**
 * `npm run bench`: boot to ready and idle memory; cache-hit throughput of superfone-bff against
 * bare node:http (and nginx when installed) on the same bytes, measured with autocannon and wrk,
 * and GET /metrics; a legitimate client under a 401 flood; then cold and stale stampedes. Prints
 * a Markdown report with every target judged and writes bench/results/<timestamp>.{md,json} and
 * bench/RESULTS.md.
 *
 * Env: BENCH_DURATION (s per run, 8), BENCH_ROUNDS (3), BENCH_CONNECTIONS (50), BENCH_BOOTS (5),
 * BENCH_FLOOD_SECONDS (10), BENCH_QUICK=1 (a smoke run: 2 s, 1 round, 2 boots, 3 s flood),
 * BENCH_NGINX and BENCH_WRK (a binary, or `off`), REDIS_URL (redis://127.0.0.1:6379).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { measureBoot } from './boot';
import { floodRow } from './flood';
import { findNginx, nginxAbsence, nginxVersion } from './nginx';
import { describeMachine, hasUnexpectedAnswers, renderMarkdown, type BenchReport } from './report';
import { deletePrefix, newContext, startStandIn } from './service';
import { CLIENT_CORE, isShuttingDown, pinSelf, ROOT, snapshotDist, stop, stopAll } from './servers';
import {
  coldStampede,
  expiredStampede,
  sharedCopyStampede,
  STAMPEDE_DELAY_MS,
  staleStampede,
  type StampedeResult,
} from './stampede';
import { runThroughput } from './throughput';
import { findWrk, wrkAbsence, wrkVersion } from './wrk';

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
const message = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

async function connectRedis(url: string): Promise<Redis | undefined> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined); // reported once below; ioredis would otherwise log each retry
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (error) {
    log(
      `Redis at ${url} did not answer (${message(error)}): Redis rows and the multi-replica stampede are skipped`,
    );
    redis.disconnect();
    return undefined;
  }
}

async function main(): Promise<void> {
  const quick = process.env.BENCH_QUICK === '1';
  const durationSeconds = intEnv('BENCH_DURATION', quick ? 2 : 8, 1, 3600);
  const rounds = intEnv('BENCH_ROUNDS', quick ? 1 : 3, 1, 100);
  const connections = intEnv('BENCH_CONNECTIONS', 50, 1, 10_000);
  const boots = intEnv('BENCH_BOOTS', quick ? 2 : 5, 1, 100);
  const floodSeconds = intEnv('BENCH_FLOOD_SECONDS', quick ? 3 : 10, 1, 3600);
  const warmupSeconds = quick ? 1 : Math.min(3, durationSeconds);
  const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

  const notes: string[] = [];
  if (!pinSelf(CLIENT_CORE))
    notes.push('could not pin the orchestrator to core 1 (taskset failed)');
  const removeSnapshot = snapshotDist();
  const tmpDir = mkdtempSync(join(tmpdir(), 'superfone-bff-bench-'));
  const ctx = newContext(tmpDir, redisUrl);
  let redis: Redis | undefined;

  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await stopAll();
    if (redis) {
      for (const prefix of ctx.prefixes) await deletePrefix(redis, prefix).catch(() => 0);
      redis.disconnect();
    }
    rmSync(tmpDir, { recursive: true, force: true });
    removeSnapshot();
  };
  // An object, not a let: the signal handler sets it while main() awaits, which narrowing cannot see.
  const signalled = { interrupted: false };
  const onSignal = (signal: NodeJS.Signals): void => {
    signalled.interrupted = true;
    log(`${signal}: stopping every child process and deleting the bench keys`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    settings: { durationSeconds, rounds, connections, quick, warmupSeconds, boots, floodSeconds },
    machine: describeMachine('not checked', 'not checked', 'not checked'),
    stampedes: [],
    stampedeErrors: [],
    notes,
    sectionSeconds: {},
  };
  /** Runs one section and records how long it took. */
  const timed = async <T>(name: string, section: () => Promise<T>): Promise<T> => {
    const began = performance.now();
    try {
      return await section();
    } finally {
      report.sectionSeconds[name] = (performance.now() - began) / 1000;
    }
  };
  notes.push(
    'Redis is the machine\'s own server and is not pinned: its work in the "one Redis GET" row (and any Redis call the service makes) ' +
      'runs on whichever core is free, so that row gets a little more than one core.',
    'The service runs with CACHE_TTL_SECONDS=86400 during the throughput rows and the 401 flood (so the copy, its bytes and ETag stay the same), ' +
      'RATE_LIMIT_PER_MINUTE=1000000 and SHUTDOWN_DELAY_MS=0; everything else is the defaults, LOG_LEVEL=info, stdout to a file, ' +
      "and node runs with the flags of `npm start` (the image's CMD).",
  );

  try {
    redis = await connectRedis(redisUrl);
    const nginxBinary = findNginx();
    const wrkBinary = findWrk();
    const redisVersion = redis
      ? (/redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown')
      : 'unavailable';
    report.machine = describeMachine(
      nginxBinary ? nginxVersion(nginxBinary) : nginxAbsence(),
      `${redisVersion} at ${redisUrl.replace(/\/\/[^@]*@/, '//')} (not pinned)`,
      wrkBinary ? wrkVersion(wrkBinary) : wrkAbsence(),
    );
    if (!wrkBinary)
      log(`wrk: ${wrkAbsence()}: the throughput rows are measured with autocannon alone`);
    const standIn = await startStandIn(ctx, STAMPEDE_DELAY_MS);
    log(`stand-in at ${ctx.standInUrl} (delay ${STAMPEDE_DELAY_MS} ms)`);
    // First, while nothing of the bench's own load has run yet.
    try {
      report.boot = await timed('boots', () => measureBoot(ctx, redis, boots, log));
    } catch (error) {
      report.bootError = message(error);
      log(`boot section failed: ${report.bootError}`);
    }
    try {
      report.throughput = await timed('throughput and /metrics', () =>
        runThroughput(ctx, redis, { durationSeconds, warmupSeconds, rounds, connections }, log),
      );
    } catch (error) {
      report.throughputError = message(error);
      log(`throughput section failed: ${report.throughputError}`);
    }
    if (!isShuttingDown()) {
      try {
        report.flood = await timed('401 flood', () =>
          floodRow(ctx, { seconds: floodSeconds, connections, warmupSeconds }, log),
        );
      } catch (error) {
        report.floodError = message(error);
        log(`401 flood row failed: ${report.floodError}`);
      }
    }

    // Each scenario runs once per round: an extra upstream call can be a race that shows only sometimes.
    const FRESH = '(a) fresh process';
    const FRESH_REFERENCE = '(a) fresh process, copy in Redis';
    const scenarios: [string, () => Promise<StampedeResult>][] = [
      [FRESH, () => coldStampede(ctx, redis, 1, 200)],
      [FRESH_REFERENCE, () => sharedCopyStampede(ctx, redis, 200)],
      ['(a) warm process', () => expiredStampede(ctx, redis, 200)],
      [
        '(b)',
        () => (redis ? coldStampede(ctx, redis, 3, 500) : Promise.reject(new Error('needs Redis'))),
      ],
      ['(c)', () => staleStampede(ctx, redis, 200)],
    ];
    const stampedesBegan = performance.now();
    for (let run = 1; run <= rounds && !isShuttingDown(); run++) {
      for (const [id, scenario] of scenarios) {
        if (isShuttingDown()) break;
        log(`stampede ${id} run ${run}/${rounds}`);
        try {
          const result = { ...(await scenario()), id, run };
          report.stampedes.push(result);
          log(
            `  ${result.scenario}: upstream calls ${result.upstreamCalls}, cache ${JSON.stringify(result.cacheCounts)}, ` +
              `p99 ${result.latencyMs.p99.toFixed(1)} ms${Object.keys(result.warnings).length ? `, warnings ${JSON.stringify(result.warnings)}` : ''}`,
          );
        } catch (error) {
          report.stampedeErrors.push(`${id} run ${run}: ${message(error)}`);
          log(`  failed: ${message(error)}`);
        }
      }
    }
    report.sectionSeconds.stampedes = (performance.now() - stampedesBegan) / 1000;
    // A cold burst on a fresh process is compared with the same burst on a fresh process that needs no upstream call.
    report.stampedes = report.stampedes.map((s) => {
      const shared =
        s.id === FRESH && report.stampedes.find((r) => r.id === FRESH_REFERENCE && r.run === s.run);
      return shared
        ? {
            ...s,
            reference: { label: `${FRESH_REFERENCE}, same round`, latencyMs: shared.latencyMs },
          }
        : s;
    });
    await stop(standIn);
  } finally {
    await cleanup();
  }

  if (signalled.interrupted) return; // a partial run is not a result: the signal handler exits once cleanup is done
  report.finishedAt = new Date().toISOString();
  report.machine.loadAverageAfter = loadavg().map((v) => Number(v.toFixed(2)));
  const markdown = renderMarkdown(report, STAMPEDE_DELAY_MS);
  process.stdout.write(`${markdown}\n`);

  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  // Colons are legal on Linux but break copying results to other systems.
  const stamp = report.startedAt.replace(/:/g, '-');
  writeFileSync(join(resultsDir, `${stamp}.md`), markdown);
  writeFileSync(join(resultsDir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  // A smoke run's numbers are not worth quoting: it leaves the committed RESULTS.md alone.
  if (quick)
    log(`wrote bench/results/${stamp}.md and .json (BENCH_QUICK: bench/RESULTS.md left as it was)`);
  else {
    writeFileSync(join(ROOT, 'bench', 'RESULTS.md'), markdown);
    log(`wrote bench/results/${stamp}.md, .json and bench/RESULTS.md`);
  }
  if (hasUnexpectedAnswers(report)) {
    log('UNEXPECTED ANSWERS in the throughput runs: see the top of the report');
    process.exitCode = 1;
  }
  if (!report.throughput || !report.boot || !report.flood || report.stampedeErrors.length > 0)
    process.exitCode = 1;
}

main().catch(async (error: unknown) => {
  log(`failed: ${message(error)}`);
  await stopAll();
  process.exit(1);
});
