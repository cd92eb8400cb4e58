/** Thrown instead of sending a command while Redis is paused after timeouts, or not configured. */
export class RedisUnavailableError extends Error {
  constructor(reason: string) {
    super(`Redis unavailable: ${reason}`);
    this.name = 'RedisUnavailableError';
  }
}

/** Our own deadline fired (ioredis' commandTimeout says "Command timed out"; this one is ours). */
export class RedisTimeoutError extends Error {
  constructor(ms: number) {
    super(`Command timed out after ${ms} ms`);
    this.name = 'RedisTimeoutError';
  }
}

/** After an attempt and its retry both time out, commands are refused this long. */
export const PAUSE_AFTER_TIMEOUTS_MS = 1000;

export function isTimeout(error: unknown): boolean {
  return (
    error instanceof RedisTimeoutError ||
    (error instanceof Error && error.message === 'Command timed out')
  );
}

/**
 * The grey-failure rules for every Redis command the service sends, in one place:
 * - each attempt has a hard deadline (REDIS_COMMAND_TIMEOUT_MS), whatever ioredis or Redis does;
 * - only a timeout is retried (a late reply on a busy event loop looks like one), once, after a
 *   short pause, so a caller waits about 2 × the deadline at most;
 * - when the retry times out too, Redis looks hung: every command is refused at once for
 *   PAUSE_AFTER_TIMEOUTS_MS, then one probe goes through while the rest are still refused. Nothing
 *   is sent per request to a Redis that does not answer, so nothing piles up in ioredis' queue.
 * Errors Redis answered with (READONLY, WRONGTYPE, …) mean it is alive: they are not retried and
 * do not pause it. A closed connection fails at once (no offline queue) and needs no pause either.
 */
export class RedisGate {
  private pausedUntil = 0;
  private probing = false;

  constructor(private readonly timeoutMs: number) {}

  /** True while commands are refused without being sent. */
  get paused(): boolean {
    return this.pausedUntil > 0 && (Date.now() < this.pausedUntil || this.probing);
  }

  /**
   * `retryOnTimeout: false` for a command that must not run twice (a counter increment): a
   * timed-out attempt may still land, and its caller handles that instead.
   */
  async run<T>(command: () => Promise<T>, retryOnTimeout = true): Promise<T> {
    let probe = false;
    if (this.pausedUntil > 0) {
      if (Date.now() < this.pausedUntil) throw new RedisUnavailableError('paused after timeouts');
      if (this.probing) throw new RedisUnavailableError('paused after timeouts, probe in flight');
      this.probing = probe = true;
    }
    // An object, not a let: the retry's callback sets it, which narrowing below cannot see.
    const retry = { timedOut: false };
    try {
      const result = await this.attempt(command).catch(async (error: unknown) => {
        if (!isTimeout(error) || probe || !retryOnTimeout) throw error;
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(1, Math.round(this.timeoutMs / 5))),
        );
        if (this.pausedUntil > Date.now()) throw error;
        return this.attempt(command).catch((retryError: unknown) => {
          retry.timedOut = isTimeout(retryError);
          throw retryError;
        });
      });
      this.pausedUntil = 0;
      return result;
    } catch (error) {
      // Redis looks hung only when a retry or a probe timed out too: one late reply (a busy event
      // loop, a command that is not retried) must not stop every other command for a second.
      if (retry.timedOut || (probe && isTimeout(error)))
        this.pausedUntil = Date.now() + PAUSE_AFTER_TIMEOUTS_MS;
      else if (probe) this.pausedUntil = 0;
      throw error;
    } finally {
      if (probe) this.probing = false;
    }
  }

  /**
   * The deadline is judged after the event loop has read what is waiting on the sockets. Node runs
   * due timers before it polls for I/O, so when a burst keeps the loop busy past the deadline, a
   * reply that arrived meanwhile is still unread when the timer fires; failing then made a busy
   * process call a healthy Redis timed out (a retry, or a rate-limit fallback, and tens of ms).
   * setImmediate runs after that poll: if the reply was there, the command has settled by then.
   */
  private attempt<T>(command: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let verdict: NodeJS.Immediate | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        verdict = setImmediate(() => {
          reject(new RedisTimeoutError(this.timeoutMs));
        });
      }, this.timeoutMs);
    });
    return Promise.race([command(), deadline]).finally(() => {
      clearTimeout(timer);
      clearImmediate(verdict);
    });
  }
}
