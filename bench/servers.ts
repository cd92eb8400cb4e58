/**
 * Spawning, pinning, probing and stopping the processes the benchmark measures. Every child is
 * registered so that a failure or Ctrl-C anywhere still stops all of them (stopAll).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCommand, type StartCommand } from '../tools/start-command';

/** The repository root (this file runs from dist/bench/). */
export const ROOT = resolve(__dirname, '..', '..');

let dist = resolve(ROOT, 'dist');

/** A path in the build output the bench runs from (the snapshot once snapshotDist() ran). */
export function distPath(...parts: string[]): string {
  return join(dist, ...parts);
}

/**
 * Copies dist/ to bench/results/.dist-<pid>/ (git-ignored) and runs every child from there:
 * `nest build` empties dist/ first, so a test run elsewhere in the repo during the bench would
 * otherwise break every process started after it. node_modules still resolve from the repo root.
 * Returns a function that deletes the copy.
 */
export function snapshotDist(): () => void {
  const target = join(ROOT, 'bench', 'results', `.dist-${process.pid}`);
  cpSync(resolve(ROOT, 'dist'), target, { recursive: true });
  dist = target;
  return () => {
    rmSync(target, { recursive: true, force: true });
  };
}

/**
 * `npm start`'s flags and environment, with its compile cache (NODE_COMPILE_CACHE) taken from the
 * build output the bench runs from: the one `npm run build` wrote beside the bundle, copied with it.
 * Portable mode (NODE_COMPILE_CACHE_PORTABLE, also in `npm start`) keys it by the bundle's path
 * relative to the cache, so the copy still matches.
 */
export function benchStartCommand(): StartCommand {
  const start = startCommand(ROOT);
  return { ...start, env: { ...start.env, NODE_COMPILE_CACHE: distPath('compile-cache') } };
}

/** Servers share core 0; the load generator (and this orchestrator) use core 1. */
export const SERVER_CORE = 0;
export const CLIENT_CORE = 1;

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
  exitedAlready: boolean;
}

const children = new Set<Child>();
/** Set by stopAll(): after an interrupt, nothing new may start while cleanup runs. */
let closing = false;

/**
 * Starts `command args` on one core with `taskset -c`. taskset execs the command, so the pid is
 * the server's own pid (what /proc sampling needs). stdout/stderr go to `logPath` (appended) or
 * are discarded: never to a pipe nobody drains, which would stall a logging server.
 */
export function spawnPinned(
  name: string,
  core: number,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  logPath?: string,
): Child {
  if (closing) throw new Error(`not starting ${name}: the bench is shutting down`);
  const out = logPath ? openSync(logPath, 'a') : 'ignore';
  const proc = spawn('taskset', ['-c', String(core), command, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', out, out],
  });
  if (typeof out === 'number') closeSync(out); // the child holds its own copy of the descriptor
  if (proc.pid === undefined)
    throw new Error(`${name}: could not spawn taskset (is util-linux installed?)`);
  const child: Child = {
    name,
    proc,
    pid: proc.pid,
    exitedAlready: false,
    exited: new Promise((done) => {
      proc.once('exit', (code, signal) => {
        child.exitedAlready = true;
        children.delete(child);
        done(code ?? signal ?? 'unknown');
      });
      proc.once('error', () => {
        child.exitedAlready = true;
        children.delete(child);
        done('spawn-error');
      });
    }),
  };
  children.add(child);
  return child;
}

/** Starts `node [nodeFlags] <script>` pinned to the server core. */
export function spawnNodeServer(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  logPath?: string,
  nodeFlags: string[] = [],
): Child {
  return spawnPinned(name, SERVER_CORE, process.execPath, [...nodeFlags, script], env, logPath);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stop(child: Child, graceMs = 15_000): Promise<void> {
  if (child.exitedAlready) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  try {
    await child.exited;
  } finally {
    clearTimeout(timer);
  }
}

export function isShuttingDown(): boolean {
  return closing;
}

/** How a load generator run with runOnClientCore ended. */
export interface ClientRun {
  readonly code: number | null;
  readonly stderr: string;
}

/**
 * Runs a load generator (autocannon's worker, wrk, the legitimate client) pinned to the client
 * core, handing each stdout chunk to `onStdout`. It is SIGKILLed if it overruns
 * `durationSeconds` by 60 s, or when the bench is interrupted (it is not among the servers
 * stopAll() knows). Resolves once it has exited; rejects if it cannot be started.
 */
export function runOnClientCore(
  command: string,
  args: readonly string[],
  durationSeconds: number,
  onStdout: (chunk: string) => void,
): Promise<ClientRun> {
  if (closing) return Promise.reject(new Error('the bench is shutting down'));
  const child = spawn('taskset', ['-c', String(CLIENT_CORE), command, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', onStdout);
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), (durationSeconds + 60) * 1000);
  const onSignal = (): void => void child.kill('SIGKILL');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return new Promise((done, fail) => {
    child.once('error', fail);
    child.once('exit', (code) => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      done({ code, stderr });
    });
  });
}

/** Stops every child still running (on success, failure and Ctrl-C alike). */
export async function stopAll(): Promise<void> {
  closing = true;
  await Promise.all([...children].map((child) => stop(child, 5000)));
}

/** Polls `url` until it answers `status`; fails early if `child` exits, or after `timeoutMs`. */
export async function waitForStatus(
  url: string,
  child: Child,
  timeoutMs = 30_000,
  status = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.exitedAlready) throw new Error(`${child.name} exited before answering ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === status) return;
      last = `status ${res.status}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(100);
  }
  throw new Error(
    `${child.name} did not answer ${status} at ${url} within ${timeoutMs} ms (${last})`,
  );
}

/** Pins this process to one core, so the stampede client and /proc sampling stay off the server core. */
export function pinSelf(core: number): boolean {
  try {
    execFileSync('taskset', ['-pc', String(core), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The pid and every descendant's pid (nginx's master and its worker). */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    const path = `/proc/${all[i]}/task/${all[i]}/children`;
    if (!existsSync(path)) continue;
    try {
      for (const id of readFileSync(path, 'utf8').trim().split(/\s+/)) if (id) all.push(Number(id));
    } catch {
      // the process went away between listing and reading
    }
  }
  return all;
}

/** Clock ticks per second (`getconf CLK_TCK`): the unit of /proc's CPU times. */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Resident memory (VmRSS) and its high-water mark (VmHWM) in KiB, and CPU seconds used, of one pid. */
export function procStats(pid: number): { rssKiB: number; hwmKiB: number; cpuSeconds: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number =>
      Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    // /proc/<pid>/stat: fields after the parenthesised name; utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), cpuSeconds };
  } catch {
    return { rssKiB: 0, hwmKiB: 0, cpuSeconds: 0 };
  }
}

/** Busy and total jiffies per core from /proc/stat (busy = everything but idle and iowait). */
function coreTimes(): { busy: number; total: number }[] {
  try {
    return readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .filter((line) => /^cpu\d+ /.test(line))
      .map((line) => {
        const v = line.trim().split(/\s+/).slice(1).map(Number);
        const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal; guest is already in user
        return { busy: total - v[3] - v[4], total };
      });
  } catch {
    return [];
  }
}

export interface ServerSample {
  readonly peakRssMiB: number;
  /** CPU used by the server's processes, in percent of one core over the run. */
  readonly cpuPercent: number;
  readonly cpuSeconds: number;
  /** Each core's busy percent over the run, every process included: core 0 well above the server's own share means other work ran there. */
  readonly coreBusyPercent: number[];
}

/** Samples a server's process tree during a load run: peak summed RSS, CPU used, and how busy each core was. */
export class ServerSampler {
  private peakRssKiB = 0;
  private readonly startCpu: number;
  private readonly startCores = coreTimes();
  private readonly startedAt = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.startCpu = this.cpu();
    this.timer = setInterval(() => {
      this.sample();
    }, 200);
    this.sample();
  }

  private cpu(): number {
    return processTree(this.pid).reduce((sum, id) => sum + procStats(id).cpuSeconds, 0);
  }

  private sample(): void {
    const rss = processTree(this.pid).reduce((sum, id) => sum + procStats(id).rssKiB, 0);
    this.peakRssKiB = Math.max(this.peakRssKiB, rss);
  }

  finish(): ServerSample {
    clearInterval(this.timer);
    this.sample();
    const wall = (performance.now() - this.startedAt) / 1000;
    const cpuSeconds = this.cpu() - this.startCpu;
    const coreBusyPercent = coreTimes().map((end, i) => {
      const start = this.startCores[i] ?? { busy: 0, total: 0 };
      const total = end.total - start.total;
      return total > 0 ? ((end.busy - start.busy) / total) * 100 : NaN;
    });
    return {
      peakRssMiB: this.peakRssKiB / 1024,
      cpuPercent: (cpuSeconds / wall) * 100,
      cpuSeconds,
      coreBusyPercent,
    };
  }
}
