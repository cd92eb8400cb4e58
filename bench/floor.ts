/**
 * The framework floor, run as the service ships: bench/minimal-nest-server.ts bundled by the same
 * esbuild step (tools/bundle.ts), started with `npm start`'s environment and V8 flags, with a
 * compile cache written by one boot and request before any is measured (as `npm run build` does for
 * the service: tools/warm-compile-cache.ts). Unbundled and with V8's defaults it idled about 17 MiB
 * higher than bundled, which made the service look closer to the floor than it is.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleNestApp } from '../tools/bundle';
import { freePort } from '../tools/free-port';
import {
  benchStartCommand,
  distPath,
  spawnNodeServer,
  stop,
  waitForStatus,
  type Child,
} from './servers';

let bundled: Promise<string> | undefined;

/**
 * Bundles the minimal Nest app once per bench run and boots it once to write its compile cache;
 * resolves the bundle's path.
 */
export function floorScript(): Promise<string> {
  bundled ??= (async () => {
    const outfile = distPath('bench', 'minimal-nest.bundle.js');
    await bundleNestApp(distPath('bench', 'minimal-nest-server.js'), outfile, {
      everyDeferral: false,
    });
    const bodyFile = join(tmpdir(), `floor-warm-up-${process.pid}.json`);
    writeFileSync(bodyFile, '{"data":[]}');
    const port = await freePort();
    const { child, logPath } = spawnFloorScript(outfile, 'floor warm-up', port, bodyFile, tmpdir());
    try {
      await waitForStatus(`http://127.0.0.1:${port}/numbers/available`, child);
    } finally {
      await stop(child);
      rmSync(bodyFile, { force: true });
      rmSync(logPath, { force: true });
    }
    return outfile;
  })();
  return bundled;
}

/**
 * Spawns the floor on the server core, answering `bodyFile` as `contentType` on
 * /numbers/available; its output goes to `<logDir>/<name>.log`.
 */
export async function spawnFloor(
  name: string,
  port: number,
  bodyFile: string,
  contentType: string,
  logDir: string,
): Promise<{ child: Child; logPath: string }> {
  return spawnFloorScript(await floorScript(), name, port, bodyFile, logDir, contentType);
}

function spawnFloorScript(
  script: string,
  name: string,
  port: number,
  bodyFile: string,
  logDir: string,
  contentType = 'application/json',
): { child: Child; logPath: string } {
  const start = benchStartCommand();
  const logPath = join(logDir, `${name.replaceAll(' ', '-')}.log`);
  const child = spawnNodeServer(
    name,
    script,
    {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      ...start.env,
      PORT: String(port),
      BODY_FILE: bodyFile,
      CONTENT_TYPE: contentType,
    },
    logPath,
    start.flags,
  );
  return { child, logPath };
}
