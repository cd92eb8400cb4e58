import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { tmpdir } from 'node:os';
import { freePort } from '../../tools/free-port';

/** A redis-server child process owned by the tests (never the machine's shared one). */
export interface OwnedRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number | undefined;
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop()). */
  start(): Promise<void>;
}

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** True when a Redis answers PING at `url` within `timeoutMs`. */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    // PING answers PONG or rejects (ioredis types the reply as exactly 'PONG').
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    if (client.status !== 'end') client.disconnect();
  }
}

/** Starts redis-server on a free port (nothing persisted) and resolves once it accepts connections. */
export async function startOwnedRedis(): Promise<OwnedRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    // --dir: a replica's full sync still writes an RDB file on the master; keep it out of the work tree.
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        tmpdir(),
      ],
      {
        stdio: 'ignore',
      },
    );
    const deadline = Date.now() + 5000;
    while (!(await redisAnswers(url, 200))) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`redis-server did not start on port ${port}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const stop = async (): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => {
        resolve();
      });
      running.kill('SIGKILL');
    });
  };

  await start();
  return {
    url,
    port,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
  };
}
