import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  linkSync,
  mkdirSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCommand } from '../tools/start-command';

/**
 * Node's compile cache for the bundle (tools/warm-compile-cache.ts, the build's last step and a
 * stage of the image): what `npm start` loads is V8's code from the build, not a compile at boot.
 * Node's own debug output (NODE_DEBUG_NATIVE=COMPILE_CACHE) says whether it accepted the cache.
 */
const ROOT = join(__dirname, '..');
const RUNTIME_UID = 1000; // the image's `node` user, and the chart's runAsUser

/** Runs `npm start`'s command in `root` with no configuration: it exits 1 at once, after loading. */
function startWithoutConfig(root: string, asUid?: number, nodeBinary = process.execPath): string {
  const start = startCommand(root);
  const node = [nodeBinary, ...start.flags, start.script];
  const [command, ...args] = asUid === undefined ? node : asUser(asUid, node);
  const run = spawnSync(command, args, {
    cwd: root,
    env: { PATH: process.env.PATH, ...start.env, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('SUPERFONE_API_KEY');
  return run.stderr;
}

/** `argv` run as `uid` (util-linux's setpriv), as a Dockerfile's USER runs it. */
function asUser(uid: number, argv: string[]): string[] {
  return ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...argv];
}

/** Switching user needs root and setpriv. */
function canSwitchUser(): boolean {
  return process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
}

const acceptedBundle = /V8 code cache for CommonJS \S*superfone-bff\.js was accepted/;

describe('compile cache (NODE_COMPILE_CACHE in npm start and the image)', () => {
  it('npm start loads the bundle from the cache the build wrote, and leaves it as it was', () => {
    const stderr = startWithoutConfig(ROOT);
    expect(stderr).toMatch(acceptedBundle);
    expect(stderr).toMatch(
      /skip persisting CommonJS \S*superfone-bff\.js because cache was the same/,
    );
  });

  // The Dockerfile's recipe without a Docker engine: a copy of the build, its cache written by the
  // runtime's uid (Node files the cache under the uid), then owned by root as COPY --from leaves it.
  (canSwitchUser() ? it : it.skip)(
    'a cache written as uid 1000 and then owned by root is read by uid 1000, which cannot rewrite it',
    () => {
      const app = mkdtempSync(join(tmpdir(), 'compile-cache-image-'));
      try {
        chmodSync(app, 0o755);
        cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
        cpSync(join(ROOT, 'dist'), join(app, 'dist'), { recursive: true });
        symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
        // Node may live where uid 1000 cannot reach it (npx's cache under /root): a link of its own.
        const node = join(app, 'node');
        try {
          linkSync(process.execPath, node);
        } catch {
          copyFileSync(process.execPath, node);
        }
        const cache = join(app, 'dist', 'compile-cache');
        rmSync(cache, { recursive: true, force: true });
        mkdirSync(cache);
        chownSync(cache, RUNTIME_UID, RUNTIME_UID);

        const [setpriv, ...args] = asUser(RUNTIME_UID, [
          node,
          join(app, 'dist', 'tools', 'warm-compile-cache.js'),
        ]);
        execFileSync(setpriv, args, {
          cwd: app,
          env: { PATH: process.env.PATH },
          stdio: 'pipe',
          timeout: 60_000,
        });
        const [tag] = readdirSync(cache);
        expect(tag).toMatch(
          new RegExp(`^v${process.versions.node}-${process.arch}-[0-9a-f]+-${RUNTIME_UID}$`),
        );
        execFileSync('chown', ['-R', 'root:root', cache]);
        const files = readdirSync(join(cache, tag));
        expect(files).toHaveLength(1);
        expect(statSync(join(cache, tag, files[0])).mode & 0o777).toBe(0o644);

        const stderr = startWithoutConfig(app, RUNTIME_UID, node);
        expect(stderr).toMatch(acceptedBundle);
        // Root's files: the runtime user reads them and has nothing to write.
        expect(stderr).not.toMatch(/writing cache|failed to (open|write)/i);
        // Another uid (root here) finds no cache of its own and compiles as without one.
        expect(startWithoutConfig(app)).not.toMatch(acceptedBundle);
      } finally {
        rmSync(app, { recursive: true, force: true });
      }
    },
  );
});
