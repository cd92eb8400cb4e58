import { PROBLEMS, ProblemCode } from './problem-codes';

/**
 * An error the service knows how to answer: a problem code, a detail safe to show the caller,
 * and any headers the answer needs (WWW-Authenticate, Retry-After, Allow).
 */
export class AppError extends Error {
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
    this.name = new.target.name;
  }

  get status(): number {
    return PROBLEMS[this.code].status;
  }
}

export class InvalidRequestError extends AppError {
  constructor(detail: string) {
    super('INVALID_REQUEST', detail);
  }
}
