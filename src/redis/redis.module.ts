import { Module } from '@nestjs/common';
import { RedisConnection } from './redis.connection';

/** Provides the service's one Redis connection to the cache, the refresh lock, rate limits and health. */
@Module({ providers: [RedisConnection], exports: [RedisConnection] })
export class RedisModule {}
