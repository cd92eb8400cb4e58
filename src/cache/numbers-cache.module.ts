import { CacheModule } from '@nestjs/cache-manager';
import { Module } from '@nestjs/common';
import { Keyv } from 'keyv';
// @nestjs/cache-manager is an ES module, so its options name the Keyv class of keyv's ESM build;
// this CommonJS app constructs the CJS build. They are the same class, twice: nest recognizes a
// Keyv by shape at run time, and the type is restated from the ESM side here.
import type { Keyv as KeyvAsNestSeesIt } from 'keyv' with { 'resolution-mode': 'import' };
import { AppConfig } from '../config/app-config';
import { RedisConnection } from '../redis/redis.connection';
import { RedisModule } from '../redis/redis.module';
import { SuperfoneModule } from '../superfone/superfone.module';
import { CacheKeys } from './cache-keys';
import { IoredisKeyvStore } from './ioredis-keyv.store';
import { NumbersCacheService } from './numbers-cache.service';
import { AppNumberLink, appNumberLink } from '../common/app-number-link';
import { SfvopiApp, sfvopiApp } from '../common/sfvopi-app';
import { SuperfoneClient } from '../superfone/superfone.client';
import { APPS_UPSTREAM, AppsCacheService, AppsUpstream } from './apps-cache.service';
import { FollowWrites } from './follow-writes';
import { InvalidationBusModule } from './invalidation-bus.module';
import { RefreshLock } from './refresh-lock';
import { ResourceCaches } from './resource-caches';
import { SharedCopies } from './shared-copies';

/**
 * The caching tier: cache-manager over an ioredis-backed Keyv store when a Redis topology is
 * configured (its in-memory store otherwise), the available-numbers cache, and ResourceCaches,
 * which makes a cache with the same rules for any other list (AppsCacheService uses it).
 */
@Module({
  imports: [
    RedisModule,
    SuperfoneModule,
    InvalidationBusModule,
    CacheModule.registerAsync({
      imports: [RedisModule],
      inject: [RedisConnection],
      useFactory: (redis: RedisConnection) => {
        const store = redis.client
          ? new Keyv({
              store: new IoredisKeyvStore(redis),
              useKeyPrefix: false,
              throwOnErrors: true,
            })
          : new Keyv({ useKeyPrefix: false });
        return { stores: [store as unknown as KeyvAsNestSeesIt] };
      },
    }),
  ],
  providers: [
    NumbersCacheService,
    AppsCacheService,
    FollowWrites,
    {
      provide: APPS_UPSTREAM,
      inject: [SuperfoneClient],
      useFactory: (client: SuperfoneClient): AppsUpstream<SfvopiApp, AppNumberLink> => ({
        listApps: (trace) => client.listApps(trace),
        listAppNumbers: (appId, trace) => client.listAppNumbers(appId, trace),
        appSchema: sfvopiApp,
        appNumberSchema: appNumberLink,
      }),
    },
    ResourceCaches,
    SharedCopies,
    RefreshLock,
    {
      provide: CacheKeys,
      inject: [AppConfig],
      useFactory: (c: AppConfig) => new CacheKeys(c.redis.keyPrefix, c.superfone.apiKey),
    },
  ],
  exports: [NumbersCacheService, AppsCacheService, FollowWrites, ResourceCaches, CacheKeys],
})
export class NumbersCacheModule {}
