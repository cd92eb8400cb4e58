import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RedisModule } from '../redis/redis.module';
import { CacheKeys } from './cache-keys';
import { InvalidationBus } from './invalidation-bus';

/** The bus on which replicas tell each other which cached resources a change made stale. */
@Module({
  imports: [RedisModule],
  providers: [
    InvalidationBus,
    {
      provide: CacheKeys,
      inject: [AppConfig],
      useFactory: (c: AppConfig) => new CacheKeys(c.redis.keyPrefix, c.superfone.apiKey),
    },
  ],
  exports: [InvalidationBus],
})
export class InvalidationBusModule {}
