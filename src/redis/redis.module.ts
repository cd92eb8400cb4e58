import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { createRedisClient } from './redis-client.factory';
import { RedisSubscriber } from './redis-subscriber';
import { REDIS_CLIENT, RedisConnection } from './redis.connection';

/**
 * Provides the service's one Redis connection to the cache, the refresh lock, rate limits,
 * idempotency records and health, and the pub/sub connection (opened only once something listens).
 */
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [AppConfig],
      useFactory: ({ redis }: AppConfig) =>
        redis.topology ? createRedisClient({ ...redis, topology: redis.topology }) : undefined,
    },
    RedisConnection,
    RedisSubscriber,
  ],
  exports: [RedisConnection, RedisSubscriber],
})
export class RedisModule {}
