import { HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import type { AxiosError } from 'axios';
import type { Logger } from 'pino';
import { firstValueFrom } from 'rxjs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { Metrics } from '../metrics/metrics';
import { TraceContext, traceparentOf } from '../tracing/trace-context';
import { isRetryable, MAX_RETRIES, parseRetryAfter, retryDelayMs } from './retry-policy';
import { parseErrorMessage } from './superfone.schema';
import { UpstreamBreaker } from './upstream.breaker';
import {
  UncertainFailure,
  UpstreamAuthFailedError,
  UpstreamBadResponseError,
  UpstreamError,
  UpstreamErrorResponse,
  UpstreamOutcomeUnknownError,
  UpstreamRefusal,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from './upstream.errors';

/** One call to Superfone, as SuperfoneClient describes it. */
export interface SuperfoneRequest<T> {
  /** For log lines. */
  readonly operation: 'available-numbers' | 'list-apps' | 'list-app-numbers' | 'link' | 'unlink';
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Relative to SUPERFONE_BASE_URL, path segments already encoded. */
  readonly path: string;
  /** Sent as JSON. */
  readonly body?: Readonly<Record<string, string>>;
  /** The success body validated and normalized; undefined when it is not the documented shape. */
  parse(body: unknown): T | undefined;
  /** Superfone's documented refusal for this status and message, if it is one. */
  refusal?(status: number, message?: string): UpstreamRefusal | undefined;
}

/**
 * Connect errors: no byte of the request left this process, so a change can be retried safely.
 * After anything else (a reset, a timeout) Superfone may have received it and acted on it.
 */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const GATEWAY_STATUSES = [502, 503, 504];

/**
 * The one way to Superfone: the server key (in the axios instance SuperfoneModule builds), the
 * total deadline (retries included), the circuit breaker, the body check, and every failure
 * turned into a named upstream error. Reads are retried on network errors and 502/503/504;
 * changes only when they surely did not reach Superfone, and otherwise end in
 * UpstreamOutcomeUnknownError when no answer says what happened.
 */
@Injectable()
export class SuperfoneHttp {
  private readonly logger: Logger;

  constructor(
    private readonly http: HttpService,
    private readonly breaker: UpstreamBreaker,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    logger: AppLogger,
  ) {
    this.logger = logger.child('SuperfoneClient');
  }

  /** Makes the call; `trace` (the request that caused it) is passed on as `traceparent`. */
  async send<T>(request: SuperfoneRequest<T>, trace?: TraceContext): Promise<T> {
    const started = performance.now();
    const attempts = { count: 0 };
    const headers: Record<string, string> = trace ? { traceparent: traceparentOf(trace) } : {};
    const { operation } = request;
    try {
      const result = await this.breaker.run(() => this.withRetries(request, attempts, headers));
      this.metrics.upstreamDuration.observe({ outcome: 'success' }, elapsed(started) / 1000);
      this.logger.debug(
        {
          operation,
          durationMs: elapsed(started),
          attempts: attempts.count,
          count: Array.isArray(result) ? result.length : undefined,
        },
        'superfone answered',
      );
      return result;
    } catch (error) {
      if (error instanceof UpstreamRefusal) {
        // An answer about the request (unknown app, number taken…): Superfone worked.
        this.metrics.upstreamDuration.observe({ outcome: 'success' }, elapsed(started) / 1000);
        this.logger.debug(
          { operation, refusal: error.code, upstreamStatus: error.upstreamStatus },
          'superfone refused',
        );
        throw error;
      }
      const failure = error as UpstreamError;
      if (attempts.count === 0) {
        // Refused by the open circuit: Superfone was not called, so this is not an upstream failure.
        this.metrics.upstreamFailures.inc({ classification: 'circuit_open' });
        throw failure;
      }
      const cause = failure instanceof UpstreamOutcomeUnknownError ? failure.underlying : failure;
      this.metrics.upstreamDuration.observe({ outcome: 'error' }, elapsed(started) / 1000);
      this.metrics.upstreamFailures.inc({ classification: cause.code.toLowerCase() });
      this.logger.warn(
        {
          operation,
          upstream: failure.code,
          upstreamStatus: 'upstreamStatus' in failure ? failure.upstreamStatus : undefined,
          reason: 'reason' in failure ? failure.reason : undefined,
          outcomeUnknown: failure instanceof UpstreamOutcomeUnknownError || undefined,
          attempts: attempts.count,
          durationMs: elapsed(started),
          traceId: trace?.traceId,
        },
        'superfone call failed',
      );
      throw failure;
    }
  }

  /** Up to MAX_RETRIES retries of retryable failures, all inside one SUPERFONE_TIMEOUT_MS deadline. */
  private async withRetries<T>(
    request: SuperfoneRequest<T>,
    attempts: { count: number },
    headers: Record<string, string>,
  ): Promise<T> {
    const deadline = AbortSignal.timeout(this.config.superfone.timeoutMs);
    const endsAt = Date.now() + this.config.superfone.timeoutMs;
    for (let retry = 0; ; retry++) {
      attempts.count++;
      if (retry > 0) this.metrics.upstreamRetries.inc();
      try {
        return await this.attempt(request, deadline, headers);
      } catch (error) {
        const failure = this.classify(error, deadline, request.method !== 'GET');
        if (failure instanceof UpstreamRefusal) throw failure;
        if (retry >= MAX_RETRIES || !isRetryable(failure)) throw failure;
        const delay = retryDelayMs(retry + 1, failure);
        // A wait that would outlast the deadline cannot help: fail now with what we know.
        if (Date.now() + delay >= endsAt) throw failure;
        await sleep(delay, undefined, { signal: deadline }).catch(() => {
          throw new UpstreamTimeoutError(this.config.superfone.timeoutMs);
        });
      }
    }
  }

  private async attempt<T>(
    request: SuperfoneRequest<T>,
    deadline: AbortSignal,
    headers: Record<string, string>,
  ): Promise<T> {
    const { method, path, body } = request;
    const response = await firstValueFrom(
      this.http.request<string>({
        method,
        url: path,
        signal: deadline,
        headers: body ? { ...headers, 'Content-Type': 'application/json' } : headers,
        data: body && JSON.stringify(body),
      }),
    );
    const { status } = response;
    if (status === 401 || status === 403) throw new UpstreamAuthFailedError(status);
    const success = method === 'GET' ? status === 200 : status === 200 || status === 201;
    if (!success) {
      const refusal = request.refusal?.(status, parseErrorMessage(response.data));
      if (refusal) throw refusal;
      const retryAfter: unknown = response.headers['retry-after'];
      throw new UpstreamErrorResponse(
        status,
        parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : undefined),
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.data);
    } catch {
      throw new UpstreamBadResponseError('body is not JSON');
    }
    const result = request.parse(parsed);
    if (result === undefined)
      throw new UpstreamBadResponseError('body does not match the documented schema');
    return result;
  }

  /**
   * The named error for what went wrong. For a change (`mutation`), anything after which
   * Superfone may have acted without saying so becomes UpstreamOutcomeUnknownError.
   */
  private classify(
    error: unknown,
    deadline: AbortSignal,
    mutation: boolean,
  ): UpstreamError | UpstreamRefusal {
    if (
      error instanceof UpstreamRefusal ||
      error instanceof UpstreamAuthFailedError ||
      error instanceof UpstreamBadResponseError
    ) {
      return error; // Superfone answered, and said what happened
    }
    if (error instanceof UpstreamErrorResponse) {
      return mutation && GATEWAY_STATUSES.includes(error.upstreamStatus)
        ? new UpstreamOutcomeUnknownError(error)
        : error;
    }
    const failure = this.networkFailure(error, deadline);
    if (!mutation) return failure;
    const unsent = isAxiosError(error) && NOT_SENT.has(error.code ?? '') && !deadline.aborted;
    return unsent ? failure : new UpstreamOutcomeUnknownError(failure);
  }

  private networkFailure(error: unknown, deadline: AbortSignal): UncertainFailure {
    if (deadline.aborted) return new UpstreamTimeoutError(this.config.superfone.timeoutMs);
    if (!isAxiosError(error)) return new UpstreamUnavailableError('unknown failure');
    if (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT')
      return new UpstreamTimeoutError(this.config.superfone.timeoutMs);
    if (error.code === 'ERR_BAD_RESPONSE' || error.code === 'ERR_FR_MAX_CONTENT_LENGTH_EXCEEDED')
      return new UpstreamBadResponseError(error.code);
    return new UpstreamUnavailableError(error.code ?? 'network error');
  }
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

/**
 * axios.isAxiosError's own test. Importing that function from this CommonJS build would load
 * axios's CommonJS bundle next to the ES module copy @nestjs/axios uses: two axios in memory.
 */
function isAxiosError(error: unknown): error is AxiosError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { isAxiosError?: unknown }).isAxiosError === true
  );
}
