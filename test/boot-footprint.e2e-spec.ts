import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SuperfoneStandIn } from '../tools/superfone-stand-in/superfone-stand-in';
import { KEYS } from './support/client-keys.fixture';
import { ServiceProcess, startServiceProcess } from './support/service-process';
import { bearer, standInBaseUrl, startSharedStandIn } from './support/test-app';

/**
 * A test-only preload (`node --require`), never part of the image: counts the Intl.DateTimeFormat
 * the process builds and, at exit, reports them with the built-in modules it loaded.
 */
const PRELOAD = `
const { writeSync } = require('node:fs');
const Real = Intl.DateTimeFormat;
let built = 0;
Intl.DateTimeFormat = new Proxy(Real, {
  construct: (target, args) => (built++, Reflect.construct(target, args)),
  apply: (target, self, args) => (built++, Reflect.apply(target, self, args)),
});
process.on('exit', () => {
  writeSync(2, '\\nboot-footprint ' + JSON.stringify({ built, modules: process.moduleLoadList }) + '\\n');
});
`;

interface Footprint {
  built: number;
  modules: string[];
}

function footprintOf(stderr: string): Footprint {
  const line = stderr.split('\n').find((l) => l.startsWith('boot-footprint '));
  if (!line) throw new Error(`no boot-footprint line on stderr: ${stderr}`);
  return JSON.parse(line.slice('boot-footprint '.length)) as Footprint;
}

/**
 * What the bundle leaves out of every replica (tools/bundle-deferrals.ts): axios's FormData and
 * fetch probes would load Node's undici and web streams, and Nest's console-logger timestamps
 * would read ICU's locale data, for features the service never uses. A dependency update that
 * brings the work back fails here, not only in the bench's memory figures.
 */
describe('the built service, booted and answering from Superfone', () => {
  let dir: string;
  let preload: string;
  let standIn: SuperfoneStandIn;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'superfone-bff-footprint-'));
    preload = join(dir, 'boot-footprint.cjs');
    writeFileSync(preload, PRELOAD);
    standIn = await startSharedStandIn();
  });
  afterAll(async () => {
    await service?.stop();
    await standIn.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads neither undici nor web streams and builds no Intl.DateTimeFormat', async () => {
    service = await startServiceProcess({
      NODE_OPTIONS: `--require ${preload}`,
      SUPERFONE_BASE_URL: standInBaseUrl(standIn),
    });
    const answer = await fetch(`${service.url}/numbers/available`, {
      headers: bearer(KEYS.reader),
    });
    expect(answer.status).toBe(200);
    expect(standIn.calls).toBe(1);
    await service.stop();
    expect(await service.exited).toBe(0);

    const { built, modules } = footprintOf(service.stderr());
    // The preload saw the whole boot: Node's HTTP server and axios's http adapter are in the list.
    expect(modules).toEqual(
      expect.arrayContaining(['NativeModule _http_server', 'NativeModule _http_client']),
    );
    expect(modules.filter((m) => /undici|webstreams/.test(m))).toEqual([]);
    expect(built).toBe(0);
  });
});
