import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { AppError } from '../common/app.error';
import { AppConfig } from '../config/app-config';
import { RefusedRequests } from '../logging/refused-requests';

/** A refusal waiting for its delay to pass. */
interface PendingRefusal {
  readonly error: AppError;
  readonly reject: (error: AppError) => void;
  readonly response: ServerResponse;
  readonly timer: NodeJS.Timeout;
  readonly onClose: () => void;
}

/**
 * A tarpit for failed authentication: a request refused for a missing or unknown client key is
 * answered AUTH_FAILURE_DELAY_MS after the refusal rather than at once.
 *
 * Why: a client that retries bad keys in a loop (a misconfigured app, a scan) over N connections
 * would otherwise get 401s as fast as the process can make them, and a legitimate request would
 * wait behind dozens of them. Delayed, each such connection gets at most one 401 per delay
 * (50 connections and 100 ms: 500 a second), while the wait costs the process one timer per
 * pending refusal: nothing runs until it fires, and the number pending is bounded by the open
 * connections. A valid key never waits (ClientKeyGuard comes here only on failure).
 *
 * - The answer is the same 401 problem it would have been at once: the refusal rejects with its
 *   AppError, which goes through the one exception filter as usual.
 * - A client that hangs up meanwhile costs nothing more: its timer is cleared and nothing is
 *   answered (it is counted in the refused-requests summary as `clientLeft`).
 * - On shutdown, pending refusals are answered at once, and any later one too, so closing the
 *   app never waits for a delay.
 */
@Injectable()
export class AuthFailureDelay implements BeforeApplicationShutdown {
  private readonly delayMs: number;
  private readonly pending = new Set<PendingRefusal>();
  private closing = false;

  constructor(
    config: AppConfig,
    private readonly refused: RefusedRequests,
  ) {
    this.delayMs = config.authFailureDelayMs;
  }

  /** Refusals waiting for their delay now. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * A promise that rejects with `error` after the delay (and never settles if the client hangs up
   * first). Throws `error` at once when there is no delay (AUTH_FAILURE_DELAY_MS=0) or the app is
   * closing, as a guard's refusal would.
   */
  refuse(error: AppError, response: ServerResponse): Promise<never> {
    if (this.delayMs === 0 || this.closing) throw error;
    if (response.destroyed) {
      // The client left before its key was even checked: nothing to answer, nothing to wait for.
      this.refused.clientLeft(error.status, error.code);
      return new Promise<never>(() => undefined);
    }
    return new Promise<never>((_resolve, reject) => {
      const refusal: PendingRefusal = {
        error,
        reject,
        response,
        timer: setTimeout(() => {
          this.answer(refusal);
        }, this.delayMs),
        onClose: () => {
          this.abandon(refusal);
        },
      };
      response.on('close', refusal.onClose);
      this.pending.add(refusal);
    });
  }

  /** Answers every pending refusal now; later ones are answered at once. */
  beforeApplicationShutdown(): void {
    this.closing = true;
    for (const refusal of this.pending) {
      clearTimeout(refusal.timer);
      this.answer(refusal);
    }
  }

  private answer(refusal: PendingRefusal): void {
    refusal.response.removeListener('close', refusal.onClose);
    this.pending.delete(refusal);
    refusal.reject(refusal.error);
  }

  /** The client hung up before the delay passed. */
  private abandon(refusal: PendingRefusal): void {
    clearTimeout(refusal.timer);
    this.pending.delete(refusal);
    this.refused.clientLeft(refusal.error.status, refusal.error.code);
  }
}
