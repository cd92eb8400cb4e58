/**
 * Node 24 is enforced: `npm ci` under another Node major stops before installing anything, and the
 * error says which Node to use and how. Run with the machine's other Node when it has one (Debian
 * ships Node 20 as /usr/bin/node); without one the check is skipped, not passed.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { defined } from '../support/defined';
import { exitOf } from '../support/exec';

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

/** A node binary on this machine whose major version is not 24, with the npm beside it. */
function otherNode(): { node: string; npmCli: string } | undefined {
  for (const node of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(node)) continue;
    const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
    if (version.startsWith('v24.')) continue;
    const npmCli = join(dirname(node), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
    const debianNpmCli = '/usr/share/nodejs/npm/bin/npm-cli.js';
    const cli = [npmCli, debianNpmCli].find((path) => existsSync(path));
    if (cli) return { node, npmCli: cli };
  }
  return undefined;
}

const other = otherNode();

describe('Node 24 enforced by npm', () => {
  (other ? it : it.skip)(
    'npm ci on another Node major stops with a line naming Node 24 and the npx command',
    async () => {
      const { node, npmCli } = defined(other, 'another Node');
      const dir = mkdtempSync(join(tmpdir(), 'superfone-bff-engine-'));
      try {
        for (const file of ['package.json', 'package-lock.json', '.npmrc'])
          copyFileSync(join(ROOT, file), join(dir, file));
        const result = await exitOf(
          run(node, [npmCli, 'ci', '--ignore-scripts', '--dry-run'], {
            cwd: dir,
            env: { PATH: process.env.PATH, HOME: dir, npm_config_cache: join(dir, '.npm') },
          }),
        );

        expect(result.code).not.toBe(0);
        expect(result.stderr).toContain('EBADENGINE');
        const required = result.stderr.split('\n').filter((line) => line.includes('Required:'));
        expect(required).toHaveLength(1);
        expect(required[0]).toContain('"node":">=24 <25"');
        expect(required[0]).toContain("npx --yes -p node@24 -c 'npm ci'");
        expect(existsSync(join(dir, 'node_modules'))).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
