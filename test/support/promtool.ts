import { spawnSync } from 'node:child_process';

/**
 * Prometheus' promtool, for the specs that check rules and scrapes with it (CI installs it: Debian
 * package prometheus). $PROMTOOL names the binary when set — `PROMTOOL=/nonexistent` shows what a
 * machine without it reports — else the one on PATH. Tests that need it are registered with
 * `withPromtool`, so without it they are reported as skipped, never as passed.
 */
export const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

const probe = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' });

/** promtool's first version line, or undefined when it cannot be run. */
export const promtoolVersion: string | undefined =
  probe.status === 0 && !probe.error ? probe.stdout.split('\n')[0] : undefined;

export const promtoolAvailable = promtoolVersion !== undefined;

/** `it` when promtool runs here, else `it.skip`. */
export const withPromtool = promtoolAvailable ? it : it.skip;

export interface PromtoolResult {
  readonly status: number | null;
  /** stdout followed by stderr. */
  readonly output: string;
}

/** Runs promtool with `args` (from `cwd`, with `input` on stdin when given). */
export function runPromtool(
  args: readonly string[],
  options: { cwd?: string; input?: string } = {},
): PromtoolResult {
  const result = spawnSync(PROMTOOL, args, { ...options, encoding: 'utf8' });
  // A promtool that cannot start has no output at all (stdout and stderr undefined).
  if (result.error) return { status: null, output: result.error.message };
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
