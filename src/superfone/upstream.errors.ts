import { AppError } from '../common/app.error';

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

export type UpstreamError =
  | UpstreamAuthFailedError
  | UpstreamErrorResponse
  | UpstreamBadResponseError
  | UpstreamUnavailableError
  | UpstreamTimeoutError;
