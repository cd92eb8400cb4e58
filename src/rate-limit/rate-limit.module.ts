import { ExecutionContext, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import type { AuthenticatedRequest } from '../auth/client-key.guard';
import { RedisModule } from '../cache/redis.module';
import { AppConfig } from '../config/app-config';
import { RedisThrottlerStorage } from './redis-throttler.storage';

const ONE_MINUTE_MS = 60_000;

@Module({ imports: [RedisModule], providers: [RedisThrottlerStorage], exports: [RedisThrottlerStorage] })
class RateLimitStorageModule {}

/**
 * Per-client rate limits: RATE_LIMIT_PER_MINUTE, or the client's own `rateLimitPerMinute`,
 * counted in Redis. ClientThrottlerGuard (registered globally after ClientKeyGuard) applies them.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [AppConfig, RedisThrottlerStorage],
      useFactory: (config: AppConfig, storage: RedisThrottlerStorage) => ({
        storage,
        throttlers: [
          {
            ttl: ONE_MINUTE_MS,
            limit: (context: ExecutionContext) =>
              context.switchToHttp().getRequest<AuthenticatedRequest>().client?.rateLimitPerMinute ?? config.rateLimitPerMinute,
          },
        ],
      }),
    }),
  ],
  exports: [ThrottlerModule],
})
export class RateLimitModule {}
