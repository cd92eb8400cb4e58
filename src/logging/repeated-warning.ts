import type { Logger } from 'pino';

/** At most one line per this interval for one kind of warning. */
export const SUMMARY_INTERVAL_MS = 10_000;

/**
 * A warning that may fire once per request while a dependency fails (Redis down, say), or flap
 * between failing and working, is logged at most once per SUMMARY_INTERVAL_MS:
 * - the first failure is logged at once;
 * - what happens within the interval is counted, and one line at its end says where things
 *   stand (still failing, or working again) and how many events it summarizes (`repeated`).
 */
export class RepeatedWarning {
  private failing = false;
  /** The state the last line told, and when. */
  private loggedFailing = false;
  private lastLineAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;
  private fields: Record<string, unknown> = {};
  private recoveryMessage = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
  ) {}

  get active(): boolean {
    return this.failing;
  }

  warn(fields: Record<string, unknown> = {}): void {
    this.failing = true;
    this.fields = fields;
    this.record();
  }

  /** The failure is over; logged (at most once per interval) if a failure was logged or counted. */
  recovered(message: string, fields: Record<string, unknown> = {}): void {
    if (!this.failing) return;
    this.failing = false;
    this.fields = fields;
    this.recoveryMessage = message;
    this.record();
  }

  private record(): void {
    if (Date.now() - this.lastLineAt >= SUMMARY_INTERVAL_MS) {
      this.line();
      return;
    }
    this.suppressed++;
    this.timer ??= setTimeout(
      () => {
        this.timer = undefined;
        if (this.suppressed > 0) this.line();
      },
      this.lastLineAt + SUMMARY_INTERVAL_MS - Date.now(),
    ).unref();
  }

  private line(): void {
    const repeated = this.suppressed;
    const fields = repeated > 0 ? { ...this.fields, repeated } : this.fields;
    if (this.failing) {
      this.logger.warn(
        fields,
        repeated > 0 ? `${this.message} (${repeated} events since the last line)` : this.message,
      );
    } else if (this.loggedFailing || repeated > 0) {
      this.logger.info(fields, this.recoveryMessage);
    }
    this.loggedFailing = this.failing;
    this.suppressed = 0;
    this.lastLineAt = Date.now();
  }
}
