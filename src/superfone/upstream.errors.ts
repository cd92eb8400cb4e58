import { AppError } from '../common/app.error';
import type { ProblemCode } from '../common/problem-codes';

/** Superfone answered 401/403: our server key is wrong or revoked. */
export class UpstreamAuthFailedError extends AppError {
  constructor(readonly upstreamStatus: number) {
    super(
      'UPSTREAM_AUTH_FAILED',
      "Superfone rejected this service's API key. Operators: check SUPERFONE_API_KEY.",
    );
  }
}

/** Superfone answered with an error status (5xx, 429, or any other non-200). */
export class UpstreamErrorResponse extends AppError {
  constructor(
    readonly upstreamStatus: number,
    /** Superfone's Retry-After, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super('UPSTREAM_ERROR', `Superfone answered with HTTP ${upstreamStatus}.`);
  }
}

/** Superfone answered 200 with a body that is not JSON or not the documented shape. */
export class UpstreamBadResponseError extends AppError {
  constructor(readonly reason: string) {
    super('UPSTREAM_BAD_RESPONSE', 'Superfone sent a response that could not be used.');
  }
}

/** Superfone could not be reached (refused, reset, DNS). */
export class UpstreamUnavailableError extends AppError {
  constructor(
    readonly reason: string,
    retryAfterSeconds = 5,
  ) {
    super('UPSTREAM_UNAVAILABLE', 'Superfone could not be reached.', {
      'retry-after': String(retryAfterSeconds),
    });
  }
}

/** Superfone did not answer within SUPERFONE_TIMEOUT_MS. */
export class UpstreamTimeoutError extends AppError {
  constructor(readonly timeoutMs: number) {
    super('UPSTREAM_TIMEOUT', `Superfone did not answer within ${timeoutMs} ms.`);
  }
}

/** What a read would have failed with; a change that failed so may still have been made. */
export type UncertainFailure =
  | UpstreamErrorResponse
  | UpstreamBadResponseError
  | UpstreamUnavailableError
  | UpstreamTimeoutError;

/**
 * A link or unlink reached Superfone (or may have), but no answer says whether it was made: a
 * timeout, a connection reset or broken answer mid-request, or a gateway's 502/503/504. Never
 * retried (a retry could link twice); the caller finds out by reading the app's numbers.
 */
export class UpstreamOutcomeUnknownError extends AppError {
  /** Why, as the read failure would log it: `timeout`, a socket error code, or `HTTP 503`. */
  readonly reason: string;
  readonly upstreamStatus: number | undefined;

  constructor(readonly underlying: UncertainFailure) {
    super('UPSTREAM_TIMEOUT', 'Superfone did not confirm whether the change was made.');
    this.upstreamStatus =
      underlying instanceof UpstreamErrorResponse ? underlying.upstreamStatus : undefined;
    this.reason =
      underlying instanceof UpstreamTimeoutError
        ? 'timeout'
        : underlying instanceof UpstreamErrorResponse
          ? `HTTP ${underlying.upstreamStatus}`
          : underlying.reason;
  }
}

export type UpstreamError =
  UpstreamAuthFailedError | UncertainFailure | UpstreamOutcomeUnknownError;

/**
 * Superfone refused the request with one of its documented answers (superfone-api.md §2.2–2.4):
 * an answer about the caller's request, not a failure of Superfone, so neither the circuit breaker
 * nor the upstream failure metrics count it.
 */
export abstract class UpstreamRefusal extends AppError {
  constructor(
    code: ProblemCode,
    detail: string,
    readonly upstreamStatus: number,
  ) {
    super(code, detail);
  }
}

/** 404 `App not found` / `SFVoPI app not found`: no such app in this organization. */
export class AppNotFoundError extends UpstreamRefusal {
  constructor(upstreamStatus: number) {
    super('APP_NOT_FOUND', 'Superfone has no SFVoPI app with this id.', upstreamStatus);
  }
}

/** 404 `Number not linked to this app`. */
export class NumberNotLinkedError extends UpstreamRefusal {
  constructor(upstreamStatus: number) {
    super('NUMBER_NOT_LINKED', 'This number is not linked to this app.', upstreamStatus);
  }
}

/** 400 `VoIP number not found or does not belong to this org` (or `Number not found…`). */
export class NumberNotFoundError extends UpstreamRefusal {
  constructor(upstreamStatus: number) {
    super(
      'NUMBER_NOT_FOUND',
      'This number does not belong to the organization behind this service.',
      upstreamStatus,
    );
  }
}

/** 409 `VoIP number is already linked to another SFVoPI app` (and, most likely, to the same one). */
export class NumberAlreadyLinkedError extends UpstreamRefusal {
  constructor(upstreamStatus: number) {
    super(
      'NUMBER_ALREADY_LINKED',
      'This number is already linked to an SFVoPI app.',
      upstreamStatus,
    );
  }
}

/**
 * Any other 400 to a link or unlink (`Invalid phone number`, `Invalid request body`): the service
 * sent a well-formed E.164 number, so it is the number Superfone does not accept.
 */
export class NumberRejectedError extends UpstreamRefusal {
  constructor(upstreamStatus: number) {
    super('INVALID_REQUEST', 'Superfone does not accept this phone number.', upstreamStatus);
  }
}
