import type { Logger } from 'pino';

/** How long a repeated warning stays quiet before its count is logged. */
export const SUMMARY_INTERVAL_MS = 10_000;

/**
 * A warning that may fire once per request while a dependency is failing (Redis down, say) is
 * logged the first time, then counted: the next line, at most once per SUMMARY_INTERVAL_MS, says
 * how many were left out. `recovered()` logs the end of the episode with the final count.
 */
export class RepeatedWarning {
  private suppressed = 0;
  private loggedAt: number | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly now: () => number = Date.now,
  ) {}

  get active(): boolean {
    return this.loggedAt !== undefined;
  }

  warn(fields: Record<string, unknown> = {}): void {
    const now = this.now();
    if (this.loggedAt !== undefined && now - this.loggedAt < SUMMARY_INTERVAL_MS) {
      this.suppressed++;
      return;
    }
    const repeated = this.suppressed;
    this.suppressed = 0;
    this.loggedAt = now;
    this.logger.warn(repeated > 0 ? { ...fields, repeated } : fields, repeated > 0 ? `${this.message} (${repeated} more times since the last line)` : this.message);
  }

  /** Ends an episode: one info line with what was left out, and the next warning is logged at once. */
  recovered(message: string, fields: Record<string, unknown> = {}): void {
    if (this.loggedAt === undefined) return;
    const repeated = this.suppressed;
    this.suppressed = 0;
    this.loggedAt = undefined;
    this.logger.info(repeated > 0 ? { ...fields, repeated } : fields, message);
  }
}
