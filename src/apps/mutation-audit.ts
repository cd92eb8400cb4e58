import { Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppError } from '../common/app.error';
import { AppLogger } from '../logging/app-logger';
import { Metrics } from '../metrics/metrics';
import type { LinkTarget } from './apps.input';

export type MutationOperation = 'link' | 'unlink';

/** What one mutation request came to, as the audit line and the counter name it. */
export interface MutationRecord {
  readonly operation: MutationOperation;
  readonly target: LinkTarget;
  readonly clientId: string | undefined;
  readonly requestId: string;
  /** linked, already_linked, unlinked, or the problem code answered (lower case). */
  readonly outcome: string;
  /** True when Superfone's answer was lost and the app's list decided the outcome. */
  readonly reconciled?: boolean;
}

/**
 * One audit line and one count per link or unlink request, whatever its end: operators answer
 * "who linked what, when, and did it work" from the log, and alert on the counter.
 */
@Injectable()
export class MutationAudit {
  private readonly logger: Logger;

  constructor(
    private readonly metrics: Metrics,
    logger: AppLogger,
  ) {
    this.logger = logger.child('audit');
  }

  record(entry: MutationRecord): void {
    const { operation, target, clientId, requestId, outcome, reconciled } = entry;
    this.metrics.numberMutations.inc({ operation, outcome });
    this.logger.info(
      {
        event: `number.${operation}`,
        clientId,
        appId: target.appId,
        voipNumber: target.voipNumber,
        outcome,
        requestId,
        ...(reconciled ? { reconciled } : {}),
      },
      `number ${operation}: ${outcome}`,
    );
  }

  /** The outcome name of a failed mutation: its problem code, or `internal`. */
  static outcomeOf(error: unknown): string {
    return error instanceof AppError ? error.code.toLowerCase() : 'internal';
  }
}
