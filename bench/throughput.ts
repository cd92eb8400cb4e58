/**
 * Cache-hit throughput and latency: superfone-bff answering from its warm in-process tier, side by
 * side with bare node:http servers (and nginx proxy_cache when installed) answering the very same
 * bytes, each measured with two load generators (autocannon and wrk). The peers run in
 * interleaved rounds (A B C … A B C …, each peer with both generators back to back, their order
 * alternating by round) so that machine noise, which on a shared 2-core box drifts over minutes,
 * lands on every peer alike; ratios are taken within a round and generator. After the rounds, the
 * service's GET /metrics gets one run of its own.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { exchange } from './burst-client';
import { autocannonLoader, type Instrument, type Loader } from './load';
import { measure, summarizeRows, type Peer, type RoundResult, type RowSummary } from './measure';
import { findNginx, nginxAbsence, startNginx } from './nginx';
import { findWrk, runWrk, wrkAbsence, wrkLoader } from './wrk';
import { spawnFloor } from './floor';
import { newPrefix, startService, type BenchContext } from './service';
import { freePort } from '../tools/free-port';
import { distPath, procStats, spawnNodeServer, stop, waitForStatus, type Child } from './servers';

export interface ThroughputSettings {
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly rounds: number;
  readonly connections: number;
}

export interface ThroughputResult {
  readonly bodyBytes: number;
  readonly numbers: number;
  readonly contentType: string;
  readonly etag: string;
  readonly sameBytes: Record<string, boolean>;
  readonly rows: RowSummary[];
  /** The generators that measured the rows (wrk is left out when not installed). */
  readonly instruments: Instrument[];
  /** The service's VmHWM after the rows' runs (before the /metrics run). */
  readonly serviceVmHwmMiB?: number;
  readonly nginx: string;
  /** `measured`, or why wrk is not in the table. */
  readonly wrk: string;
  /**
   * Per peer: the statuses of wrk's check run (a response() hook counting every status), since
   * the measured wrk runs only count statuses of 400 or more. Empty without wrk.
   */
  readonly wrkChecks: Record<string, WrkCheck>;
  /** Bytes of one answer per peer, read once on a raw socket (what bytes/response should be). */
  readonly answerBytes: Record<string, number>;
  /** GET /metrics on the service's port, autocannon, after the rows. */
  readonly metrics?: RoundResult;
  readonly metricsVmHwmMiB?: number;
  readonly metricsError?: string;
}

/** One peer's wrk check run: every status counted. */
export interface WrkCheck {
  readonly expectStatus: number;
  readonly statusCounts: Record<string, number>;
  readonly errors: number;
  readonly timeouts: number;
}

/** Seconds of the /metrics run: a rate, so a few seconds are enough. */
const METRICS_SECONDS = 5;
/** Seconds of each peer's wrk check run. */
const WRK_CHECK_SECONDS = 1;

async function fetchBody(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

/**
 * Starts the service and its peers, checks they all send the same body bytes, runs a short
 * warm-up per peer (JIT, connection pools, nginx's first miss) and then the interleaved rounds.
 */
export async function runThroughput(
  ctx: BenchContext,
  redis: Redis | undefined,
  settings: ThroughputSettings,
  log: (line: string) => void,
): Promise<ThroughputResult> {
  const started: Child[] = [];
  try {
    // A TTL far longer than the run: the copy (and so its bytes and ETag) must not change mid-run.
    const service = await startService(ctx, 'service-throughput', newPrefix(ctx), {
      CACHE_TTL_SECONDS: '86400',
    });
    started.push(service.child);
    const auth = { authorization: `Bearer ${ctx.clientKey}` };
    const endpoint = `${service.url}/numbers/available`;
    const first = await fetchBody(endpoint, auth);
    if (first.status !== 200)
      throw new Error(`GET /numbers/available answered ${first.status}: ${first.body.toString()}`);
    const second = await fetchBody(endpoint, auth);
    if (!second.body.equals(first.body))
      throw new Error('the service answered different bytes twice in a row');
    const contentType = first.headers.get('content-type') ?? 'application/json';
    const etag = first.headers.get('etag') ?? '';
    const bodyFile = join(ctx.tmpDir, 'body.json');
    writeFileSync(bodyFile, first.body);
    log(
      `service body: ${first.body.length} bytes, ${contentType}, ETag ${etag}, Cache-Status "${second.headers.get('cache-status')}"`,
    );

    const baselineScript = distPath('bench', 'baseline-server.js');
    const redisKey = `${newPrefix(ctx)}baseline-body`;
    if (redis) await redis.set(redisKey, first.body);
    const startBaseline = async (mode: string): Promise<{ child: Child; url: string }> => {
      const port = await freePort();
      const child = spawnNodeServer(
        `baseline ${mode}`,
        baselineScript,
        {
          PATH: process.env.PATH,
          NODE_ENV: 'production',
          PORT: String(port),
          BASELINE_MODE: mode,
          BODY_FILE: bodyFile,
          CONTENT_TYPE: contentType,
          REDIS_URL: ctx.redisUrl,
          REDIS_KEY: redisKey,
        },
        join(ctx.tmpDir, `baseline-${mode}.log`),
      );
      started.push(child);
      const url = `http://127.0.0.1:${port}/numbers/available`;
      await waitForStatus(url, child);
      return { child, url };
    };

    const buffer = await startBaseline('buffer');
    const stringify = await startBaseline('stringify');
    const viaRedis = redis ? await startBaseline('redis') : undefined;
    const nestPort = await freePort();
    const { child: minimalNest } = await spawnFloor(
      'minimal NestJS',
      nestPort,
      bodyFile,
      contentType,
      ctx.tmpDir,
    );
    started.push(minimalNest);
    const minimalNestUrl = `http://127.0.0.1:${nestPort}/numbers/available`;
    await waitForStatus(minimalNestUrl, minimalNest);

    let nginxState = nginxAbsence();
    let nginxPeer: Peer | undefined;
    const nginxBinary = findNginx();
    if (nginxBinary) {
      const port = await freePort();
      const nginx = startNginx(
        nginxBinary,
        join(ctx.tmpDir, 'nginx'),
        port,
        Number(new URL(buffer.url).port),
      );
      started.push(nginx);
      const url = `http://127.0.0.1:${port}/numbers/available`;
      try {
        await waitForStatus(url, nginx, 10_000); // this first request is nginx's one cache miss
        const hit = await fetchBody(url);
        nginxState = `X-Cache-Status ${hit.headers.get('x-cache-status') ?? 'absent'} on the second request`;
        nginxPeer = {
          id: 'nginx',
          label: 'nginx proxy_cache hit',
          url,
          headers: {},
          expectStatus: 200,
          pid: nginx.pid,
        };
      } catch (error) {
        // The temp dir is deleted at the end, so keep what nginx said.
        let said = '';
        try {
          said = readFileSync(join(ctx.tmpDir, 'nginx', 'error.log'), 'utf8')
            .trim()
            .split('\n')
            .slice(-3)
            .join(' | ');
        } catch {
          // no error log written
        }
        nginxState = `failed to start: ${error instanceof Error ? error.message : String(error)}${said ? ` (error.log: ${said})` : ''}`;
      }
    }

    const peers: Peer[] = [
      {
        id: 'buffer',
        label: 'bare node:http, pre-serialized Buffer',
        url: buffer.url,
        headers: {},
        expectStatus: 200,
        pid: buffer.child.pid,
      },
      ...(nginxPeer ? [nginxPeer] : []),
      {
        id: 'stringify',
        label: 'bare node:http, JSON.stringify per request',
        url: stringify.url,
        headers: {},
        expectStatus: 200,
        pid: stringify.child.pid,
      },
      ...(viaRedis
        ? [
            {
              id: 'redis',
              label: 'bare node:http, one Redis GET per request',
              url: viaRedis.url,
              headers: {},
              expectStatus: 200,
              pid: viaRedis.child.pid,
            },
          ]
        : []),
      {
        id: 'nest',
        label: 'minimal NestJS 12 on Fastify, one controller, same bytes',
        url: minimalNestUrl,
        headers: {},
        expectStatus: 200,
        pid: minimalNest.pid,
      },
      {
        id: 'service',
        label: 'superfone-bff cache hit (auth, ETag, Cache-Status, log line)',
        url: endpoint,
        headers: auth,
        expectStatus: 200,
        pid: service.child.pid,
        logPath: service.logPath,
      },
      {
        id: 'service-304',
        label: 'superfone-bff 304 (If-None-Match)',
        url: endpoint,
        headers: { ...auth, 'if-none-match': etag },
        expectStatus: 304,
        pid: service.child.pid,
        logPath: service.logPath,
      },
    ];

    const sameBytes: Record<string, boolean> = {};
    const answerBytes: Record<string, number> = {};
    for (const peer of peers) {
      const answer = await fetchBody(peer.url, peer.headers);
      sameBytes[peer.id] =
        peer.expectStatus === 304
          ? answer.status === 304 && answer.body.length === 0
          : answer.status === 200 && answer.body.equals(first.body);
      if (!sameBytes[peer.id])
        log(`WARNING: ${peer.label} did not answer the expected bytes (status ${answer.status})`);
      const raw = await exchange(peer.url, peer.headers);
      answerBytes[peer.id] = raw.bytes;
    }
    const measuredPeers = peers.map((peer) => ({ ...peer, expectBytes: answerBytes[peer.id] }));

    const wrkBinary = findWrk();
    const wrkState = wrkBinary ? 'measured' : wrkAbsence();
    const loaders: Loader[] = [autocannonLoader];
    if (wrkBinary) loaders.push(wrkLoader(wrkBinary, ctx.tmpDir));
    const wrkChecks: Record<string, WrkCheck> = {};

    if (settings.warmupSeconds > 0) {
      for (const peer of peers) {
        log(`warm-up ${settings.warmupSeconds} s: ${peer.label}`);
        await autocannonLoader.run({
          url: peer.url,
          connections: settings.connections,
          durationSeconds: settings.warmupSeconds,
          headers: peer.headers,
        });
      }
    }
    // wrk's measured runs count only statuses of 400 or more; one short run per peer with a
    // response() hook counts every status, so a 200 answering where a 304 belongs shows too.
    if (wrkBinary) {
      for (const peer of peers) {
        const check = await runWrk(wrkBinary, ctx.tmpDir, {
          url: peer.url,
          connections: settings.connections,
          durationSeconds: WRK_CHECK_SECONDS,
          headers: peer.headers,
          countStatuses: true,
        });
        wrkChecks[peer.id] = {
          expectStatus: peer.expectStatus,
          statusCounts: check.statusCounts,
          errors: check.errors,
          timeouts: check.timeouts,
        };
        const wrong = check.responses - (check.statusCounts[String(peer.expectStatus)] ?? 0);
        log(
          `wrk check ${WRK_CHECK_SECONDS} s: ${peer.label}: ${JSON.stringify(check.statusCounts)}` +
            (wrong || check.errors || check.timeouts
              ? ` — UNEXPECTED: ${wrong} not ${peer.expectStatus}, ${check.errors} socket errors, ${check.timeouts} timeouts`
              : ''),
        );
      }
    }

    const results = new Map<string, RoundResult[]>(peers.map((p) => [p.id, []]));
    for (let round = 1; round <= settings.rounds; round++) {
      // Which generator goes first alternates by round, so neither always meets a fresher server.
      const order = round % 2 === 1 ? loaders : [...loaders].reverse();
      for (const peer of measuredPeers) {
        for (const loader of order) {
          const result = await measure(
            peer,
            loader,
            settings.durationSeconds,
            settings.connections,
            round,
            redis,
          );
          results.get(peer.id)?.push(result);
          const { load, server } = result;
          log(
            `round ${round}/${settings.rounds} ${loader.instrument.padEnd(10)} ${peer.label}: ${load.rps.toFixed(0)} req/s, ` +
              `p50 ${load.latencyMs.p50.toFixed(2)} ms, p99 ${load.latencyMs.p99.toFixed(2)} ms, ` +
              `${result.cpuUsPerResponse.toFixed(0)} µs CPU/req, server ${server.cpuPercent.toFixed(0)} %, client ${load.clientCpuPercent.toFixed(0)} %, ` +
              `${load.bytesPerResponse.toFixed(0)} B/response` +
              (result.unexpected || load.responses === 0
                ? ` — UNEXPECTED: ${result.unexpected} (${result.unexpectedDetail ?? 'no responses'})`
                : ''),
          );
        }
      }
    }

    const rows = summarizeRows(
      measuredPeers,
      (id) => results.get(id) ?? [],
      loaders.map((l) => l.instrument),
      'buffer',
      'nest',
    );
    if (!nginxPeer) {
      rows.splice(1, 0, {
        id: 'nginx',
        label: 'nginx proxy_cache hit',
        unavailable: `nginx: ${nginxState}`,
        by: {},
      });
    }
    if (!viaRedis) {
      const at = rows.findIndex((r) => r.id === 'service');
      rows.splice(at, 0, {
        id: 'redis',
        label: 'bare node:http, one Redis GET per request',
        unavailable: 'redis: unavailable',
        by: {},
      });
    }
    const hwm = procStats(service.child.pid).hwmKiB / 1024;
    if (redis) await redis.del(redisKey).catch(() => 0);

    // GET /metrics: what a scrape costs, measured as a rate on the same (now busy-looking) registry.
    const metricsSeconds = Math.min(METRICS_SECONDS, settings.durationSeconds);
    let metrics: RoundResult | undefined;
    let metricsError: string | undefined;
    try {
      log(`GET /metrics ${metricsSeconds} s (autocannon)`);
      metrics = await measure(
        {
          id: 'metrics',
          label: 'superfone-bff GET /metrics',
          url: `${service.url}/metrics`,
          headers: {},
          expectStatus: 200,
          pid: service.child.pid,
          logPath: service.logPath,
        },
        autocannonLoader,
        metricsSeconds,
        settings.connections,
        1,
        redis,
      );
      log(
        `  ${metrics.load.rps.toFixed(0)} req/s, ${metrics.cpuUsPerResponse.toFixed(0)} µs CPU/req, ` +
          `peak RSS ${metrics.server.peakRssMiB.toFixed(0)} MiB, ${metrics.load.bytesPerResponse.toFixed(0)} B/response` +
          (metrics.unexpected ? ` — UNEXPECTED: ${metrics.unexpectedDetail}` : ''),
      );
    } catch (error) {
      metricsError = error instanceof Error ? error.message : String(error);
    }
    return {
      bodyBytes: first.body.length,
      numbers: (JSON.parse(first.body.toString()) as { data: unknown[] }).data.length,
      contentType,
      etag,
      sameBytes,
      rows,
      instruments: loaders.map((l) => l.instrument),
      serviceVmHwmMiB: hwm,
      nginx: nginxPeer ? `measured (${nginxState})` : nginxState,
      wrk: wrkState,
      wrkChecks,
      answerBytes,
      metrics,
      metricsVmHwmMiB: procStats(service.child.pid).hwmKiB / 1024,
      metricsError,
    };
  } finally {
    await Promise.all(started.map((child) => stop(child)));
  }
}
