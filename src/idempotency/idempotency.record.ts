import type { ProblemCode } from '../common/problem-codes';

/** How long a final answer is kept and replayed (SPEC "Number management": 24 h). */
export const ANSWER_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * A final answer worth replaying: a response (status, the headers of REPLAYED_HEADERS, the body
 * the handler returned), or a problem (replayed through the one problem filter, so its requestId
 * and instance are the retry's own).
 */
export type IdempotentAnswer =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: unknown;
    }
  | {
      readonly kind: 'problem';
      readonly code: ProblemCode;
      readonly detail: string;
      readonly headers: Readonly<Record<string, string>>;
    };

/**
 * The response headers a replay repeats: cache-control too, so that a replayed link stays
 * `no-store` like the first answer. Per-request ones (x-request-id, traceparent, RateLimit, Date)
 * belong to the retry; content-type of a JSON body is set again when the body is sent.
 */
export const REPLAYED_HEADERS = [
  'content-type',
  'cache-control',
  'location',
  'content-location',
] as const;

/** 4xx answers that report what running the operation found, the same on every retry. */
const OUTCOME_4XX = [404, 409, 410, 422];

/**
 * Which final answers are kept for a retry with the same key:
 * - 2xx (and 3xx), and the 4xx that report the operation's outcome (404 app unknown or number not
 *   linked, 409 linked elsewhere, 422 number not owned): kept; the draft's retry gets "the result
 *   of the previously completed operation, success or an error".
 * - 5xx (502, 503, 504 "could not tell"), 408, 425, 429: not kept, the key is released. The
 *   outcome is unknown or transient; keeping it 24 h would answer every retry with the same
 *   failure, when a retry with the same key is exactly how a client recovers (the mutation
 *   routes find out what happened upstream before acting again).
 * - other 4xx (400, 401, 403, 413, 415…): not kept. The request was refused, not run; the
 *   draft has the client correct it and retry, which a kept answer would turn into a 422.
 */
export function isReplayable(status: number): boolean {
  return (status >= 200 && status < 400) || OUTCOME_4XX.includes(status);
}

/** What is stored for one (client, key): the request's fingerprint and, once final, its answer. */
export type IdempotencyRecord =
  | { readonly state: 'running'; readonly fingerprint: string; readonly token: string }
  | { readonly state: 'done'; readonly fingerprint: string; readonly answer: IdempotentAnswer };

/** Where one (client, key) lives: a record id, unique per deployment, client and key. */
export interface RecordId {
  readonly clientId: string;
  readonly key: string;
}

/** The record as stored in Redis (one JSON string, versioned so a later format can tell). */
export function serializeRecord(record: IdempotencyRecord): string {
  return JSON.stringify({ v: 1, ...record });
}

/** The record in a stored string, or undefined when the string is not one of ours. */
export function parseRecord(text: string): IdempotencyRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (record.v !== 1 || typeof record.fingerprint !== 'string') return undefined;
  if (record.state === 'running' && typeof record.token === 'string')
    return { state: 'running', fingerprint: record.fingerprint, token: record.token };
  if (record.state === 'done' && isAnswer(record.answer))
    return { state: 'done', fingerprint: record.fingerprint, answer: record.answer };
  return undefined;
}

function isAnswer(value: unknown): value is IdempotentAnswer {
  if (typeof value !== 'object' || value === null) return false;
  const answer = value as Record<string, unknown>;
  const headersOk = typeof answer.headers === 'object' && answer.headers !== null;
  if (answer.kind === 'response') return typeof answer.status === 'number' && headersOk;
  if (answer.kind === 'problem')
    return typeof answer.code === 'string' && typeof answer.detail === 'string' && headersOk;
  return false;
}
