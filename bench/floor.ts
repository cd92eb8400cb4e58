/**
 * The framework floor, run as the service ships: bench/minimal-nest-server.ts bundled by the same
 * esbuild step (tools/bundle.ts), started with `npm start`'s environment and V8 flags. Unbundled
 * and with V8's defaults it idled about 17 MiB higher than bundled, which made the service look
 * closer to the floor than it is.
 */
import { join } from 'node:path';
import { bundleNestApp } from '../tools/bundle';
import { startCommand } from '../tools/start-command';
import { distPath, ROOT, spawnNodeServer, type Child } from './servers';

let bundled: Promise<string> | undefined;

/** Bundles the minimal Nest app once per bench run; resolves the bundle's path. */
export function floorScript(): Promise<string> {
  bundled ??= (async () => {
    const outfile = distPath('bench', 'minimal-nest.bundle.js');
    await bundleNestApp(distPath('bench', 'minimal-nest-server.js'), outfile, {
      everyDeferral: false,
    });
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
  const start = startCommand(ROOT);
  const logPath = join(logDir, `${name.replaceAll(' ', '-')}.log`);
  const child = spawnNodeServer(
    name,
    await floorScript(),
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
