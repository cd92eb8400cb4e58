import { HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import type { AxiosError } from 'axios';
import type { Logger } from 'pino';
import { firstValueFrom } from 'rxjs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AvailableNumber } from '../common/available-number';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { Metrics } from '../metrics/metrics';
import { TraceContext, traceparentOf } from '../tracing/trace-context';
import { isRetryable, MAX_RETRIES, parseRetryAfter, retryDelayMs } from './retry-policy';
import { parseAvailableNumbers } from './superfone.schema';
import { UpstreamBreaker } from './upstream.breaker';
import {
  UpstreamAuthFailedError,
  UpstreamBadResponseError,
  UpstreamError,
  UpstreamErrorResponse,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from './upstream.errors';

export const AVAILABLE_NUMBERS_PATH = '/sfvopi/available-numbers';

/**
 * The one owner of Superfone: it sends the server key, enforces the total deadline (retries
 * included), goes through the circuit breaker, validates the body and turns every failure into one
 * of the named upstream errors. The HTTP client it uses (base URL, key header, keep-alive agents)
 * is built once in SuperfoneModule.
 */
@Injectable()
export class SuperfoneClient {
  private readonly logger: Logger;

  constructor(
    private readonly http: HttpService,
    private readonly breaker: UpstreamBreaker,
    private readonly config: AppConfig,
    private readonly metrics: Metrics,
    logger: AppLogger,
  ) {
    this.logger = logger.child(SuperfoneClient.name);
  }

  /**
   * GET /sfvopi/available-numbers, validated and normalized; throws an UpstreamError otherwise.
   * `trace` (the request that caused this call) is passed on as `traceparent`.
   */
  async fetchAvailableNumbers(trace?: TraceContext): Promise<AvailableNumber[]> {
    const started = performance.now();
    const attempts = { count: 0 };
    const headers: Record<string, string> = trace ? { traceparent: traceparentOf(trace) } : {};
    try {
      const numbers = await this.breaker.run(() => this.fetchWithRetries(attempts, headers));
      this.metrics.upstreamDuration.observe({ outcome: 'success' }, elapsed(started) / 1000);
      this.logger.debug(
        { durationMs: elapsed(started), attempts: attempts.count, count: numbers.length },
        'superfone answered',
      );
      return numbers;
    } catch (error) {
      const failure = error as UpstreamError;
      if (attempts.count === 0) {
        // Refused by the open circuit: Superfone was not called, so this is not an upstream failure.
        this.metrics.upstreamFailures.inc({ classification: 'circuit_open' });
        throw failure;
      }
      this.metrics.upstreamDuration.observe({ outcome: 'error' }, elapsed(started) / 1000);
      this.metrics.upstreamFailures.inc({ classification: failure.code.toLowerCase() });
      this.logger.warn(
        {
          upstream: failure.code,
          upstreamStatus: 'upstreamStatus' in failure ? failure.upstreamStatus : undefined,
          reason: 'reason' in failure ? failure.reason : undefined,
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
  private async fetchWithRetries(
    attempts: { count: number },
    headers: Record<string, string>,
  ): Promise<AvailableNumber[]> {
    const deadline = AbortSignal.timeout(this.config.superfone.timeoutMs);
    const endsAt = Date.now() + this.config.superfone.timeoutMs;
    for (let retry = 0; ; retry++) {
      attempts.count++;
      if (retry > 0) this.metrics.upstreamRetries.inc();
      try {
        return await this.attempt(deadline, headers);
      } catch (error) {
        const failure = this.classify(error, deadline);
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

  private async attempt(
    deadline: AbortSignal,
    headers: Record<string, string>,
  ): Promise<AvailableNumber[]> {
    const response = await firstValueFrom(
      this.http.get<string>(AVAILABLE_NUMBERS_PATH, { signal: deadline, headers }),
    );
    if (response.status === 401 || response.status === 403)
      throw new UpstreamAuthFailedError(response.status);
    if (response.status !== 200) {
      const retryAfter: unknown = response.headers['retry-after'];
      throw new UpstreamErrorResponse(
        response.status,
        parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : undefined),
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(response.data);
    } catch {
      throw new UpstreamBadResponseError('body is not JSON');
    }
    const numbers = parseAvailableNumbers(body);
    if (!numbers) throw new UpstreamBadResponseError('body does not match the documented schema');
    return numbers;
  }

  private classify(error: unknown, deadline: AbortSignal): UpstreamError {
    if (
      error instanceof UpstreamAuthFailedError ||
      error instanceof UpstreamErrorResponse ||
      error instanceof UpstreamBadResponseError
    ) {
      return error;
    }
    if (deadline.aborted) return new UpstreamTimeoutError(this.config.superfone.timeoutMs);
    if (isAxiosError(error)) {
      if (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT')
        return new UpstreamTimeoutError(this.config.superfone.timeoutMs);
      if (
        error.code === 'ERR_BAD_RESPONSE' ||
        error.code === 'ERR_FR_MAX_CONTENT_LENGTH_EXCEEDED'
      ) {
        return new UpstreamBadResponseError(error.code);
      }
      return new UpstreamUnavailableError(error.code ?? 'network error');
    }
    return new UpstreamUnavailableError('unknown failure');
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
