import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../common/app.error';
import { requestState } from '../common/request-state';
import { AppConfig } from '../config/app-config';
import { Metrics } from '../metrics/metrics';
import { RATE_LIMIT_WINDOW_MS } from './rate-limit.constants';
import { RedisThrottlerStorage } from './redis-throttler.storage';

/** The policy name in RateLimit headers (draft-ietf-httpapi-ratelimit-headers). */
const POLICY = 'client';
const WINDOW_SECONDS = RATE_LIMIT_WINDOW_MS / 1000;

/**
 * @nestjs/throttler keyed by client id: one budget per client app across all routes and
 * replicas, counted by the module's storage (RedisThrottlerStorage). Runs after ClientKeyGuard;
 * routes it did not authenticate (health, metrics, docs) are exempt. Answers carry
 * `RateLimit-Policy` and `RateLimit`; a client over its limit gets a 429 problem with `Retry-After`.
 */
@Injectable()
export class ClientThrottlerGuard extends ThrottlerGuard {
  @Inject(Metrics) private readonly metrics: Metrics;
  @Inject(AppConfig) private readonly config: AppConfig;
  /** The module's storage (storageService), typed as itself: count() answers without a promise on the fast path. */
  @Inject(RedisThrottlerStorage) private readonly counter: RedisThrottlerStorage;
  /** RateLimit-Policy values by limit: a client's limit never changes after boot, so each is built once. */
  private readonly policies = new Map<number, string>();

  /**
   * The library's canActivate resolves five route decorators and three option resolvers on every
   * request; this service has one per-client throttler and no per-route overrides, so the hot
   * path goes straight to the storage.
   */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const { client } = requestState(http.getRequest<FastifyRequest>());
    if (!client) return true;
    const limit = client.rateLimitPerMinute ?? this.config.rateLimitPerMinute;
    const counted = this.counter.count(client.id, RATE_LIMIT_WINDOW_MS, limit);
    const { totalHits, timeToExpire, isBlocked } =
      counted instanceof Promise ? await counted : counted;
    void http
      .getResponse<FastifyReply>()
      .header('ratelimit-policy', this.policyFor(limit))
      .header('ratelimit', `"${POLICY}";r=${Math.max(limit - totalHits, 0)};t=${timeToExpire}`);
    if (isBlocked) {
      this.metrics.rateLimited.inc({ client: client.id });
      throw new AppError(
        'RATE_LIMITED',
        `This client may make ${limit} requests per ${WINDOW_SECONDS} s; retry in ${timeToExpire} s.`,
        {
          'retry-after': String(timeToExpire),
        },
      );
    }
    return true;
  }

  private policyFor(limit: number): string {
    let policy = this.policies.get(limit);
    if (policy === undefined)
      this.policies.set(limit, (policy = `"${POLICY}";q=${limit};w=${WINDOW_SECONDS}`));
    return policy;
  }
}
