import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import { type AvailableNumber, availableNumber } from '../common/available-number';
import { AppConfig } from '../config/app-config';
import { RedisConnection } from '../redis/redis.connection';
import { CacheKeys } from './cache-keys';
import { cacheTiming, SharedTier } from './shared-tier';

/** The available-numbers list in the shared tier, under its original key. */
@Injectable()
export class SharedCopies extends SharedTier<AvailableNumber> {
  constructor(
    @Inject(CACHE_MANAGER) cache: Cache,
    keys: CacheKeys,
    redis: RedisConnection,
    config: AppConfig,
  ) {
    super(cache, keys.numbers, availableNumber, redis, cacheTiming(config));
  }
}
