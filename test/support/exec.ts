import { isError } from './errors';

/** How a child process ended, whatever its exit code. */
export interface Exit {
  /** The exit code (0 on success), a spawn error code such as 'ENOENT', or null when a signal ended it. */
  readonly code: number | string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Waits for a promisified execFile to end and returns its exit code and output, success or not
 * (execFile rejects on a non-zero exit with an Error that carries code, stdout and stderr).
 */
export async function exitOf(command: Promise<{ stdout: string; stderr: string }>): Promise<Exit> {
  try {
    const { stdout, stderr } = await command;
    return { code: 0, stdout, stderr };
  } catch (error) {
    // isError, not instanceof: child_process errors come from outside jest's sandbox realm.
    if (!isError(error))
      throw new Error(`the command failed without an Error: ${String(error)}`, { cause: error });
    const code = 'code' in error ? error.code : undefined;
    return {
      code: typeof code === 'number' || typeof code === 'string' ? code : null,
      stdout: 'stdout' in error && typeof error.stdout === 'string' ? error.stdout : '',
      stderr: 'stderr' in error && typeof error.stderr === 'string' ? error.stderr : '',
    };
  }
}
