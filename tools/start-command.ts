import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** How `npm start` runs the service: its environment assignments, node flags and script. */
export interface StartCommand {
  readonly env: Record<string, string>;
  readonly flags: string[];
  /** Relative to the project root: dist/superfone-bff.js. */
  readonly script: string;
}

/**
 * `npm start`'s command (`[NAME=value ...] node [flags...] dist/superfone-bff.js`), read from
 * package.json: the one place it is written. The image runs the same (a packaging test holds the
 * Dockerfile's CMD and ENV to it), the process suites start the service with it, and the bench
 * measures it. `root`: the project's directory.
 */
export function startCommand(root: string): StartCommand {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const argv = pkg.scripts.start.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_][A-Z0-9_]*=/.test(argv[0] ?? '')) {
    const [name, ...value] = (argv.shift() ?? '').split('=');
    env[name] = value.join('=');
  }
  const script = argv.at(-1);
  if (argv[0] !== 'node' || script !== 'dist/superfone-bff.js')
    throw new Error(`unexpected npm start: ${pkg.scripts.start}`);
  return { env, flags: argv.slice(1, -1), script };
}
