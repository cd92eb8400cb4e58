import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { SuperfoneStandIn } from '../tools/superfone-stand-in/superfone-stand-in';
import { freePort } from '../tools/free-port';
import { CLIENT_KEYS_JSON, KEYS } from './support/client-keys.fixture';
import { readProblem } from './support/bodies';
import { openRaw, parseRaw, within } from './support/raw-http';
import { SERVER_KEY, testRedisUrl } from './support/test-app';
import { eventually } from './support/timing';

const main = join(__dirname, '..', 'dist', 'superfone-bff.js');

/** Resolves with the process' exit code (null when a signal ended it). */
const exitCode = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.once('exit', resolve);
  });

/** The built service as a real process, so signals, draining and the exit code are real. */
async function startService(
  standInUrl: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      SUPERFONE_BASE_URL: standInUrl,
      SUPERFONE_API_KEY: SERVER_KEY,
      CLIENT_KEYS: CLIENT_KEYS_JSON,
      REDIS_URL: testRedisUrl(),
      REDIS_KEY_PREFIX: `superfone-bff-test:shutdown-${port}:`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: string) => {
    output += chunk;
  };
  child.stdout.setEncoding('utf8').on('data', collect);
  child.stderr.setEncoding('utf8').on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  await eventually(
    async () =>
      (await fetch(`${url}/health/ready`).catch(() => undefined))?.status === 200
        ? true
        : undefined,
    'the service to be ready',
    10000,
  );
  return { child, url, output: () => output };
}

describe('graceful shutdown', () => {
  let standIn: SuperfoneStandIn;
  let child: ChildProcess | undefined;

  beforeEach(() => {
    standIn = new SuperfoneStandIn({ apiKey: SERVER_KEY });
  });
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await standIn.stop();
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s: readiness 503 at once, every in-flight request completes, exit 0',
    async (signal) => {
      const service = await startService(await standIn.start(), {
        SHUTDOWN_DELAY_MS: '700',
        SHUTDOWN_TIMEOUT_MS: '5000',
      });
      child = service.child;
      standIn.setBehaviour({ kind: 'ok', delayMs: 1500 });
      const inFlight = Array.from({ length: 20 }, () =>
        fetch(`${service.url}/numbers/available`, {
          headers: { authorization: `Bearer ${KEYS.reader}` },
        }),
      );
      await standIn.waitForCalls(1);
      const exited = exitCode(child);

      child.kill(signal);
      const ready = await eventually(async () => {
        const res = await fetch(`${service.url}/health/ready`);
        return res.status === 503 ? res : undefined;
      }, 'readiness to turn 503');

      expect(await readProblem(ready)).toMatchObject({
        code: 'NOT_READY',
        checks: { lifecycle: { phase: 'draining' } },
      });
      const answers = await Promise.all(inFlight);
      expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
      const code = await exited;
      expect(code).toBe(0);
      expect(service.output()).toContain('shutdown: drained, exiting');
      await expect(fetch(`${service.url}/health/live`)).rejects.toThrow();
    },
  );

  it('holds a client stalling in its request to HTTP_HEADERS_TIMEOUT_MS while draining, then exits 0', async () => {
    const service = await startService(await standIn.start(), {
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '15000',
      HTTP_HEADERS_TIMEOUT_MS: '500',
    });
    child = service.child;
    const slow = await openRaw(service.url);
    // One whole request first, so the connection is surely accepted before the signal.
    slow.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n');
    const first = await slow.receivedUntil((text) => text.endsWith('}'));
    slow.write('GET /health/live HTTP/1.1\r\nHost: x\r\n');
    const exited = exitCode(child);
    const signalledAt = Date.now();

    child.kill('SIGTERM');

    const { text } = await within(slow.closed, 10_000, 'close of the slow connection');
    expect(parseRaw(text.slice(first.length)).status).toBe(408);
    expect(await within(exited, 10_000, 'exit')).toBe(0);
    // Node's own deadline check stops with the listener; without the drain's, this took 15 s.
    expect(Date.now() - signalledAt).toBeLessThan(5000);
  });

  it('exits 1 when in-flight work outlasts SHUTDOWN_TIMEOUT_MS', async () => {
    const service = await startService(await standIn.start(), {
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '300',
      SUPERFONE_TIMEOUT_MS: '10000',
    });
    child = service.child;
    standIn.setBehaviour({ kind: 'hang' });
    const hanging = fetch(`${service.url}/numbers/available`, {
      headers: { authorization: `Bearer ${KEYS.reader}` },
    }).catch(() => 'dropped');
    await standIn.waitForCalls(1);
    const exited = exitCode(child);

    child.kill('SIGTERM');

    const code = await exited;
    expect(code).toBe(1);
    expect(service.output()).toContain('outlasted SHUTDOWN_TIMEOUT_MS');
    await hanging;
  });
});
