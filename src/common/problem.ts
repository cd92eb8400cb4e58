import { HttpException } from '@nestjs/common';
import { AppError } from './app.error';
import { PROBLEMS, ProblemCode, problemType } from './problem-codes';

/** The RFC 9457 body every error answer carries, plus the headers that go with it. */
export interface Problem {
  readonly body: {
    type: string;
    title: string;
    status: number;
    detail: string;
    instance: string;
    code: ProblemCode;
    requestId: string;
    traceId?: string;
    [extension: string]: unknown;
  };
  readonly headers: Readonly<Record<string, string>>;
  /** True when the error was not one we expected: log it once, with its stack. */
  readonly unexpected: boolean;
}

/** Codes for the 4xx statuses that Nest or Fastify raise themselves. */
const CODE_BY_STATUS: Record<number, ProblemCode> = {
  400: 'INVALID_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
};

/** Details we may repeat to the caller for framework 4xx errors; anything else gets the title. */
const SAFE_DETAIL: Partial<Record<ProblemCode, string>> = {
  NOT_FOUND: 'There is no resource at this path.',
  INVALID_REQUEST: 'The request could not be understood.',
  PAYLOAD_TOO_LARGE: 'The request body is larger than this service accepts.',
  UNSUPPORTED_MEDIA_TYPE: 'This service does not accept that request body.',
};

/**
 * Maps any thrown value to a problem. Our own errors keep their code and detail; framework
 * errors keep their 4xx status; everything else becomes a generic 500 with no internals.
 */
export function toProblem(
  error: unknown,
  requestId: string,
  instance: string,
  traceId?: string,
): Problem {
  let code: ProblemCode = 'INTERNAL';
  let detail = 'The service hit an unexpected error. Quote the requestId when reporting it.';
  let headers: Readonly<Record<string, string>> = {};
  let extensions: Record<string, unknown> = {};
  let unexpected = true;

  if (error instanceof AppError) {
    ({ code, detail, headers } = error);
    unexpected = false;
  } else if (
    error instanceof HttpException &&
    error.getStatus() === 503 &&
    isHealthReport(error.getResponse())
  ) {
    code = 'NOT_READY';
    detail = 'One or more readiness checks failed.';
    extensions = { checks: (error.getResponse() as { details: unknown }).details };
    unexpected = false;
  } else {
    const status = statusOf(error);
    const mapped = status !== undefined ? CODE_BY_STATUS[status] : undefined;
    if (mapped) {
      code = mapped;
      detail = SAFE_DETAIL[mapped] ?? PROBLEMS[mapped].title;
      unexpected = false;
    }
  }

  const { status, title } = PROBLEMS[code];
  return {
    body: {
      type: problemType(code),
      title,
      status,
      detail,
      instance,
      code,
      requestId,
      traceId,
      ...extensions,
    },
    headers,
    unexpected,
  };
}

function statusOf(error: unknown): number | undefined {
  if (error instanceof HttpException) return error.getStatus();
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

function isHealthReport(response: unknown): boolean {
  return (
    typeof response === 'object' &&
    response !== null &&
    'status' in response &&
    'details' in response
  );
}

/** Serializes a problem for the wire. */
export function problemJson(problem: Problem): string {
  return JSON.stringify(problem.body);
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';
