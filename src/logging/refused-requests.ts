import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { AppLogger } from './app-logger';

/** Refusals of one kind within the current interval. */
interface RefusalCount {
  readonly status: number;
  readonly code: string;
  /** The client refused (429s: the client is known); absent for 401s. */
  readonly clientId: string | undefined;
  /** Every refusal of this kind, answered or not. */
  count: number;
  /** Of those, refusals whose client hung up before the answer (a delayed 401, see AuthFailureDelay). */
  clientLeft: number;
  /** Whether the first one has been logged in full. */
  logged: boolean;
}

/** One kind of refusal in the summary line. */
export interface RefusalSummary {
  readonly status: number;
  readonly code: string;
  readonly clientId?: string;
  readonly count: number;
  readonly clientLeft?: number;
}

/**
 * Refused requests (401: no or unknown client key; 429: a client over its rate limit) are counted,
 * not logged one line each: a flood of them would cost more to log than to answer and bury every
 * other line. Per LOG_SUMMARY_INTERVAL_MS:
 * - the first refusal of each kind (the 401s; the 429s of one client) is logged in full, as its
 *   request line, so an operator has an example with its request id;
 * - at the interval's end, one `refused requests` line gives the counts by status, code and client;
 *   an interval without refusals writes nothing, and the app's close writes what is pending.
 *
 * Kinds are keyed by status and configured client id, a bounded set, and the counts are reset
 * with every line.
 */
@Injectable()
export class RefusedRequests implements OnApplicationShutdown {
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly counts = new Map<string, RefusalCount>();
  /** When the first refusal of the current interval was counted. */
  private since = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(logger: AppLogger, config: AppConfig) {
    this.logger = logger.child('http');
    this.intervalMs = config.logSummaryIntervalMs;
  }

  /**
   * Counts one refused answer. True when it is the first of its kind this interval: the caller
   * then logs it in full.
   */
  answered(status: number, code: string, clientId: string | undefined): boolean {
    const refusal = this.refusal(status, code, clientId);
    refusal.count++;
    if (refusal.logged) return false;
    refusal.logged = true;
    return true;
  }

  /** Counts a refusal whose client hung up before it was answered. */
  clientLeft(status: number, code: string): void {
    const refusal = this.refusal(status, code, undefined);
    refusal.count++;
    refusal.clientLeft++;
  }

  /** Writes the summary of what was counted since the last one, if anything was. */
  readonly flush = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.counts.size === 0) return;
    let total = 0;
    const refused: RefusalSummary[] = [];
    for (const { status, code, clientId, count, clientLeft } of this.counts.values()) {
      total += count;
      refused.push({
        status,
        code,
        ...(clientId === undefined ? {} : { clientId }),
        count,
        ...(clientLeft === 0 ? {} : { clientLeft }),
      });
    }
    this.counts.clear();
    this.logger.info({ periodMs: Date.now() - this.since, total, refused }, 'refused requests');
  };

  /** After the server closed, so the last answers are counted. */
  onApplicationShutdown(): void {
    this.flush();
  }

  private refusal(status: number, code: string, clientId: string | undefined): RefusalCount {
    const key = clientId === undefined ? code : `${code} ${clientId}`;
    let refusal = this.counts.get(key);
    if (refusal === undefined) {
      refusal = { status, code, clientId, count: 0, clientLeft: 0, logged: false };
      this.counts.set(key, refusal);
      if (this.timer === undefined) {
        this.since = Date.now();
        this.timer = setTimeout(this.flush, this.intervalMs).unref();
      }
    }
    return refusal;
  }
}
