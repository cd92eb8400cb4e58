import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module';
import { RateLimitCounter } from './rate-limit.counter';

/**
 * Per-client rate limits: RATE_LIMIT_PER_MINUTE, or the client's own `rateLimitPerMinute`,
 * counted in Redis. ClientRateLimitGuard (registered globally after ClientKeyGuard) applies them.
 */
@Module({
  imports: [RedisModule],
  providers: [RateLimitCounter],
  exports: [RateLimitCounter],
})
export class RateLimitModule {}
