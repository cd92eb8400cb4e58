import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess, startServiceProcess } from './support/service-process';
import { SERVER_KEY } from './support/test-app';

/**
 * A test-only preload (`node --require`), never part of the image: on SIGUSR2 the service fails the
 * way a bug would, outside any request, with an error that carries the server key in a property,
 * as an HTTP client's error carries its request's headers.
 */
const PRELOAD = `
process.once('SIGUSR2', () => {
  setImmediate(() => {
    const error = Object.assign(new Error('boom'), {
      config: { headers: { 'x-api-key': process.env.SUPERFONE_API_KEY } },
    });
    if (process.env.CRASH_AS === 'rejection') void Promise.reject(error);
    else throw error;
  });
});
`;
const CRASH_LINE = 'uncaught exception: exiting';

describe('a crash in the built service', () => {
  let dir: string;
  let preload: string;
  let service: ServiceProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'superfone-bff-crash-'));
    preload = join(dir, 'crash-on-sigusr2.cjs');
    writeFileSync(preload, PRELOAD);
  });
  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['a thrown exception', 'exception', 'uncaughtException'],
    ['an unhandled rejection', 'rejection', 'unhandledRejection'],
  ])(
    'after %s: one fatal JSON line without the secrets, then exit 1 (no serving on)',
    async (_, crashAs, origin) => {
      service = await startServiceProcess({
        NODE_OPTIONS: `--require ${preload}`,
        CRASH_AS: crashAs,
      });
      expect((await fetch(`${service.url}/health/live`)).status).toBe(200);

      process.kill(service.pid, 'SIGUSR2');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        service.exited,
        new Promise((resolve) => (timer = setTimeout(resolve, 5000, 'still running after 5 s'))),
      ]);
      clearTimeout(timer);

      expect(code).toBe(1);
      const crashLines = service.logs.filter((line) => line.msg === CRASH_LINE);
      expect(crashLines).toHaveLength(1);
      const [line] = crashLines;
      expect(line).toMatchObject({ level: 60, origin, err: { type: 'Error', message: 'boom' } });
      expect(Object.keys(line.err as object)).toEqual(['type', 'message', 'stack']);
      expect((line.err as { stack: string }).stack).toMatch(/^Error: boom\n\s+at /);
      expect(service.logs.at(-1)).toBe(line);
      expect(JSON.stringify(service.logs)).not.toContain(SERVER_KEY);
      // Node printed no trace of its own: the line above is the whole report.
      expect(service.stderr()).not.toContain('boom');
    },
  );
});
