import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { ThrottlerRequest } from '@nestjs/throttler/dist/throttler.guard.interface';
import type { FastifyReply } from 'fastify';
import type { AuthenticatedRequest } from '../auth/client-key.guard';
import { AppError } from '../common/app.error';
import { Metrics } from '../metrics/metrics';

/** The policy name in RateLimit headers (draft-ietf-httpapi-ratelimit-headers). */
const POLICY = 'client';

/**
 * @nestjs/throttler keyed by client id: one budget per client app across all routes and
 * replicas. Runs after ClientKeyGuard; routes it did not authenticate (health, metrics) are
 * exempt. Answers carry `RateLimit-Policy` and `RateLimit`; a client over its limit gets a 429
 * problem with `Retry-After`.
 */
@Injectable()
export class ClientThrottlerGuard extends ThrottlerGuard {
  @Inject(Metrics) private readonly metrics: Metrics;

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return context.switchToHttp().getRequest<AuthenticatedRequest>().client === undefined;
  }

  protected override async handleRequest({ context, limit, ttl, throttler, blockDuration }: ThrottlerRequest): Promise<boolean> {
    const http = context.switchToHttp();
    const client = http.getRequest<AuthenticatedRequest>().client;
    const reply = http.getResponse<FastifyReply>();
    const { totalHits, timeToExpire, isBlocked } = await this.storageService.increment(
      client!.id,
      ttl,
      limit,
      blockDuration,
      throttler.name ?? 'default',
    );
    const windowSeconds = Math.round(ttl / 1000);
    const remaining = Math.max(limit - totalHits, 0);
    void reply
      .header('ratelimit-policy', `"${POLICY}";q=${limit};w=${windowSeconds}`)
      .header('ratelimit', `"${POLICY}";r=${remaining};t=${timeToExpire}`);
    if (isBlocked) {
      this.metrics.rateLimited.inc({ client: client!.id });
      throw new AppError('RATE_LIMITED', `This client may make ${limit} requests per ${windowSeconds} s; retry in ${timeToExpire} s.`, {
        'retry-after': String(timeToExpire),
      });
    }
    return true;
  }
}
