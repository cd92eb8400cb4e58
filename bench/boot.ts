/**
 * Boot to ready and idle memory: the service started several times as the bench starts it
 * (Redis configured, `npm start`'s V8 flags, pinned to core 0), timed from the spawn to the first
 * 200 from /health/ready, polled every 5 ms from core 1 on a new connection each time. About 2 s
 * after ready, with no traffic but that one probe, its VmRSS and VmHWM are read from /proc.
 * After each, the minimal-Nest floor (bench/floor.ts) boots the same way, ready at its first 200.
 */
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { deletePrefix, newPrefix, spawnService, tail, type BenchContext } from './service';
import { freePort } from '../tools/free-port';
import { floorScript, spawnFloor } from './floor';
import { procStats, stop, type Child } from './servers';
import { median } from './stats';

/** Pause between two readiness probes that did not answer 200. */
export const BOOT_POLL_MS = 5;
/** How long after ready the idle RSS is read. */
export const IDLE_AFTER_MS = 2000;
const BOOT_TIMEOUT_MS = 30_000;

export interface BootRun {
  /** From the spawn to the first 200 from /health/ready. */
  readonly readyMs: number;
  /** Readiness probes sent, the successful one included. */
  readonly probes: number;
  readonly idleRssMiB: number;
  readonly idleHwmMiB: number;
}

export interface BootResult {
  readonly runs: BootRun[];
  /** The minimal-Nest floor (bench/floor.ts) booted between the service's boots, the same way. */
  readonly floor: {
    readonly runs: BootRun[];
    readonly readyMsMedian: number;
    readonly idleRssMiBMedian: number;
  };
  readonly readyMsMedian: number;
  readonly readyMsMax: number;
  readonly idleRssMiBMedian: number;
  readonly idleRssMiBMax: number;
  readonly idleHwmMiBMax: number;
}

/** One GET on a new connection; resolves the status, or 0 when nothing answered (not listening yet). */
function probe(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.once('end', () => {
        resolve(res.statusCode ?? 0);
      });
    });
    req.once('error', () => {
      resolve(0);
    });
    req.once('timeout', () => req.destroy());
    req.end();
  });
}

/** Polls `url` until it answers 200, then waits IDLE_AFTER_MS and reads the process's memory. */
async function untilReady(
  url: string,
  child: Child,
  spawnedAt: number,
  logPath: string,
): Promise<BootRun> {
  let probes = 0;
  for (;;) {
    if (child.exitedAlready) throw new Error(`exited while booting: ${tail(logPath)}`);
    probes++;
    const status = await probe(url);
    const at = performance.now();
    if (status === 200) {
      const readyMs = at - spawnedAt;
      await sleep(IDLE_AFTER_MS);
      const stats = procStats(child.pid);
      return { readyMs, probes, idleRssMiB: stats.rssKiB / 1024, idleHwmMiB: stats.hwmKiB / 1024 };
    }
    if (at - spawnedAt > BOOT_TIMEOUT_MS)
      throw new Error(`not ready after ${BOOT_TIMEOUT_MS} ms: ${tail(logPath)}`);
    await sleep(BOOT_POLL_MS);
  }
}

async function bootOnce(ctx: BenchContext, redis: Redis | undefined, i: number): Promise<BootRun> {
  const prefix = newPrefix(ctx);
  const service = await spawnService(ctx, `boot-${i}`, prefix);
  try {
    return await untilReady(
      `${service.url}/health/ready`,
      service.child,
      service.spawnedAt,
      service.logPath,
    );
  } finally {
    await stop(service.child);
    if (redis) await deletePrefix(redis, prefix).catch(() => 0);
  }
}

/** The floor, ready at its first 200 from its one route (it answers `bodyFile`). */
async function bootFloorOnce(ctx: BenchContext, i: number, bodyFile: string): Promise<BootRun> {
  const port = await freePort();
  const spawnedAt = performance.now();
  const { child, logPath } = await spawnFloor(
    `floor boot ${i}`,
    port,
    bodyFile,
    'application/json',
    ctx.tmpDir,
  );
  try {
    return await untilReady(
      `http://127.0.0.1:${port}/numbers/available`,
      child,
      spawnedAt,
      logPath,
    );
  } finally {
    await stop(child);
  }
}

export async function measureBoot(
  ctx: BenchContext,
  redis: Redis | undefined,
  boots: number,
  log: (line: string) => void,
): Promise<BootResult> {
  const runs: BootRun[] = [];
  const floorRuns: BootRun[] = [];
  await floorScript();
  const floorBody = join(ctx.tmpDir, 'floor-boot-body.json');
  writeFileSync(floorBody, '{"data":[]}');
  for (let i = 1; i <= boots; i++) {
    const run = await bootOnce(ctx, redis, i);
    runs.push(run);
    const floor = await bootFloorOnce(ctx, i, floorBody);
    floorRuns.push(floor);
    log(
      `boot ${i}/${boots}: ready after ${run.readyMs.toFixed(0)} ms (${run.probes} probes), ` +
        `idle RSS ${run.idleRssMiB.toFixed(1)} MiB, VmHWM ${run.idleHwmMiB.toFixed(1)} MiB; ` +
        `floor ${floor.readyMs.toFixed(0)} ms, ${floor.idleRssMiB.toFixed(1)} MiB`,
    );
  }
  return {
    runs,
    floor: {
      runs: floorRuns,
      readyMsMedian: median(floorRuns.map((r) => r.readyMs)),
      idleRssMiBMedian: median(floorRuns.map((r) => r.idleRssMiB)),
    },
    readyMsMedian: median(runs.map((r) => r.readyMs)),
    readyMsMax: Math.max(...runs.map((r) => r.readyMs)),
    idleRssMiBMedian: median(runs.map((r) => r.idleRssMiB)),
    idleRssMiBMax: Math.max(...runs.map((r) => r.idleRssMiB)),
    idleHwmMiBMax: Math.max(...runs.map((r) => r.idleHwmMiB)),
  };
}
