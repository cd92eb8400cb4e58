import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../tools/free-port';
import { startCommand } from '../../tools/start-command';
import { CLIENT_KEYS_JSON } from './client-keys.fixture';
import { SERVER_KEY } from './test-app';
import { defined } from './defined';

/** The built service (`npm test` builds first) as operators run it: its own process, its own RSS. */
export interface ServiceProcess {
  readonly url: string;
  readonly pid: number;
  /** Every JSON log line it wrote to stdout. */
  readonly logs: Record<string, unknown>[];
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Settles once the process has exited and its output is read: its exit code (null after a signal). */
  readonly exited: Promise<number | null>;
  /** Resident set size now, in bytes (from /proc). */
  rss(): number;
  stop(): Promise<void>;
}

const ROOT = join(__dirname, '..', '..');

export async function startServiceProcess(
  env: Record<string, string | undefined>,
): Promise<ServiceProcess> {
  const port = await freePort();
  // What `npm start` and the image run: the bundle `npm run build` writes, with npm start's flags
  // and environment.
  const start = startCommand(ROOT);
  const child: ChildProcess = spawn(process.execPath, [...start.flags, start.script], {
    // npm's cwd: NODE_COMPILE_CACHE is relative to it.
    cwd: ROOT,
    env: {
      ...start.env,
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      SUPERFONE_API_KEY: SERVER_KEY,
      CLIENT_KEYS: CLIENT_KEYS_JSON,
      SHUTDOWN_DELAY_MS: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines)
      if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  // 'close', not 'exit': it comes after stdout and stderr are drained, so every line is in.
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the service exited at boot (${child.exitCode}): ${stderr}`);
    const ready = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the service did not become ready on ${url}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    pid: defined(child.pid, 'the service pid'),
    logs,
    stderr: () => stderr,
    exited,
    rss: () =>
      Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) *
      1024,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
