import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { RedisModule } from '../redis/redis.module';
import { AppConfig } from '../config/app-config';
import { RATE_LIMIT_WINDOW_MS } from './rate-limit.constants';
import { RedisThrottlerStorage } from './redis-throttler.storage';

@Module({
  imports: [RedisModule],
  providers: [RedisThrottlerStorage],
  exports: [RedisThrottlerStorage],
})
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
        // The default budget; ClientThrottlerGuard applies a client's own rateLimitPerMinute.
        throttlers: [{ ttl: RATE_LIMIT_WINDOW_MS, limit: config.rateLimitPerMinute }],
      }),
    }),
    RateLimitStorageModule,
  ],
  exports: [ThrottlerModule, RateLimitStorageModule],
})
export class RateLimitModule {}
