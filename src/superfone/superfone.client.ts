import { HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import { isAxiosError } from 'axios';
import type { Logger } from 'pino';
import { firstValueFrom } from 'rxjs';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../logging/app-logger';
import { AvailableNumber, parseAvailableNumbers } from './superfone.schema';
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
 * The one owner of Superfone: it sends the server key, enforces the total deadline, validates
 * the body and turns every failure into one of the named upstream errors. The HTTP client it
 * uses (base URL, key header, keep-alive agents) is built once in SuperfoneModule.
 */
@Injectable()
export class SuperfoneClient {
  private readonly logger: Logger;

  constructor(
    private readonly http: HttpService,
    private readonly config: AppConfig,
    logger: AppLogger,
  ) {
    this.logger = logger.child(SuperfoneClient.name);
  }

  /** GET /sfvopi/available-numbers, validated and normalized; throws an UpstreamError otherwise. */
  async fetchAvailableNumbers(): Promise<AvailableNumber[]> {
    const started = performance.now();
    try {
      const numbers = await this.request();
      this.logger.debug({ durationMs: Math.round(performance.now() - started), count: numbers.length }, 'superfone answered');
      return numbers;
    } catch (error) {
      const classified = this.classify(error);
      this.logger.warn(
        {
          upstream: classified.code,
          upstreamStatus: 'upstreamStatus' in classified ? classified.upstreamStatus : undefined,
          reason: 'reason' in classified ? classified.reason : undefined,
          durationMs: Math.round(performance.now() - started),
        },
        'superfone call failed',
      );
      throw classified;
    }
  }

  private async request(): Promise<AvailableNumber[]> {
    const response = await firstValueFrom(
      this.http.get<string>(AVAILABLE_NUMBERS_PATH, { signal: AbortSignal.timeout(this.config.superfone.timeoutMs) }),
    );
    if (response.status === 401 || response.status === 403) throw new UpstreamAuthFailedError(response.status);
    if (response.status !== 200) throw new UpstreamErrorResponse(response.status);
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

  private classify(error: unknown): UpstreamError {
    if (error instanceof UpstreamAuthFailedError || error instanceof UpstreamErrorResponse || error instanceof UpstreamBadResponseError) {
      return error;
    }
    if (isAxiosError(error)) {
      if (error.code === 'ERR_CANCELED' || error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT') {
        return new UpstreamTimeoutError(this.config.superfone.timeoutMs);
      }
      if (error.code === 'ERR_BAD_RESPONSE' || error.code === 'ERR_FR_MAX_CONTENT_LENGTH_EXCEEDED') {
        return new UpstreamBadResponseError(error.code);
      }
      return new UpstreamUnavailableError(error.code ?? 'network error');
    }
    if ((error as { name?: string } | null)?.name === 'TimeoutError') {
      return new UpstreamTimeoutError(this.config.superfone.timeoutMs);
    }
    return new UpstreamUnavailableError('unknown failure');
  }
}
