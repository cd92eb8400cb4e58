import { UpstreamError, UpstreamErrorResponse, UpstreamUnavailableError } from './upstream.errors';

/** At most this many retries after the first attempt. */
export const MAX_RETRIES = 2;
const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 1000;

/**
 * Only failures that a second try can fix are retried: network errors and 502/503/504.
 * A 4xx (the key, a rate limit) or a bad body will not change by asking again.
 */
export function isRetryable(error: UpstreamError): boolean {
  if (error instanceof UpstreamUnavailableError) return true;
  return error instanceof UpstreamErrorResponse && [502, 503, 504].includes(error.upstreamStatus);
}

/**
 * How long to wait before retry number `retry` (1-based): exponential backoff with full jitter
 * (AWS Architecture Blog, "Exponential Backoff And Jitter"), or Superfone's Retry-After when given.
 */
export function retryDelayMs(
  retry: number,
  error: UpstreamError,
  random: () => number = Math.random,
): number {
  if (error instanceof UpstreamErrorResponse && error.retryAfterMs !== undefined)
    return error.retryAfterMs;
  return Math.floor(random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** retry));
}

/** Retry-After as milliseconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(date - now, 0);
}
