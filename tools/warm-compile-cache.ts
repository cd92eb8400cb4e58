/**
 * `npm run build`'s last step, and a stage of the image build: boots the bundle once, as `npm start`
 * runs it, so that Node's module compile cache (NODE_COMPILE_CACHE in `npm start` and the image) holds
 * V8's code for dist/superfone-bff.js before any replica starts. A replica then skips parsing and
 * compiling the 3.2 MB bundle and the functions its boot and first requests run.
 *
 * Node writes the cache when the process exits, with the code of every function compiled by then:
 * this boot serves a 200, a 304 and a 401 from the Superfone stand-in first, so the hit path is in.
 * Node files the cache under the Node version, the V8 flags and the user id: the image runs this as
 * the runtime's user, with the runtime's flags (read from package.json, as `npm start` has them).
 * A replica that finds no matching cache (another uid, another Node) compiles as it would without
 * one, and writes nothing on a read-only root filesystem.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { sha256 } from '../src/auth/client-keys';
import { freePort } from './free-port';
import { startCommand } from './start-command';
import { SuperfoneStandIn } from './superfone-stand-in/superfone-stand-in';

const ROOT = join(__dirname, '..', '..');
const READY_WITHIN_MS = 30_000;

/** NODE_COMPILE_CACHE as `npm start` sets it, resolved against the project root (npm's cwd). */
function compileCacheDir(root: string): string {
  const dir = startCommand(root).env.NODE_COMPILE_CACHE;
  if (!dir) throw new Error('npm start sets no NODE_COMPILE_CACHE');
  return resolve(root, dir);
}

async function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(url, { headers });
  await response.arrayBuffer();
  return response.status;
}

async function untilReady(url: string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS;
  for (;;) {
    if (exited()) throw new Error('the service exited while booting');
    if ((await status(`${url}/health/ready`).catch(() => 0)) === 200) return;
    if (Date.now() > deadline) throw new Error(`not ready within ${READY_WITHIN_MS} ms`);
    await sleep(20);
  }
}

/** Answers the training requests expect; anything else means the boot did not run what ships. */
function expectStatus(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: ${got}, expected ${want}`);
}

/** Boots to ready, then a 200, the same again, a 304 and a 401: the paths every replica runs. */
async function train(url: string, clientKey: string, exited: () => boolean): Promise<void> {
  await untilReady(url, exited);
  const numbers = `${url}/numbers/available`;
  const auth = { authorization: `Bearer ${clientKey}` };
  const first = await fetch(numbers, { headers: auth });
  await first.arrayBuffer();
  expectStatus('GET /numbers/available', first.status, 200);
  const etag = first.headers.get('etag') ?? '';
  expectStatus('GET /numbers/available again', await status(numbers, auth), 200);
  expectStatus('a conditional GET', await status(numbers, { ...auth, 'if-none-match': etag }), 304);
  expectStatus('a wrong key', await status(numbers, { authorization: 'Bearer wrong' }), 401);
}

export async function warmCompileCache(root: string): Promise<{ dir: string; bytes: number }> {
  const dir = compileCacheDir(root);
  // Entries for an earlier bundle would only be rejected and rewritten; start clean. The directory
  // itself stays: in the image build, the runtime's user may write in it but not in dist/.
  mkdirSync(dir, { recursive: true });
  for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
  const superfoneKey = randomBytes(16).toString('hex');
  const clientKey = randomBytes(24).toString('base64url');
  const standIn = new SuperfoneStandIn({ apiKey: superfoneKey });
  const standInUrl = await standIn.start();
  const port = await freePort();
  const start = startCommand(root);
  const child = spawn(process.execPath, [...start.flags, start.script], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      ...start.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      SUPERFONE_BASE_URL: standInUrl,
      SUPERFONE_API_KEY: superfoneKey,
      CLIENT_KEYS: JSON.stringify([
        { id: 'warm-up', keySha256: sha256(clientKey).toString('hex'), scopes: ['numbers:read'] },
      ]),
      SHUTDOWN_DELAY_MS: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exit = new Promise<number | null>((done) => child.once('exit', done));
  const url = `http://127.0.0.1:${port}`;
  const training = train(url, clientKey, () => child.exitCode !== null);
  // Whatever the requests did, the service is stopped and the stand-in closed before reporting it.
  await training.catch(() => undefined);
  child.kill('SIGTERM');
  const code = await exit;
  await standIn.stop();
  await training;
  if (code !== 0) throw new Error(`the service exited with ${String(code)} after SIGTERM`);
  // Node writes its cache files for its own user only (0600); the image copies them to a root-owned
  // layer that the runtime user must still read.
  let bytes = 0;
  for (const tag of readdirSync(dir)) {
    chmodSync(join(dir, tag), 0o755);
    for (const file of readdirSync(join(dir, tag))) {
      chmodSync(join(dir, tag, file), 0o644);
      bytes += statSync(join(dir, tag, file)).size;
    }
  }
  if (bytes === 0) throw new Error(`Node wrote no compile cache to ${dir}`);
  return { dir, bytes };
}

if (require.main === module)
  warmCompileCache(ROOT).then(
    ({ dir, bytes }) => {
      process.stdout.write(`compile cache: ${Math.round(bytes / 1024)} KiB in ${dir}\n`);
    },
    (error: unknown) => {
      process.stderr.write(
        `warm-compile-cache: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(1);
    },
  );
