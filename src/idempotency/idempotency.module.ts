import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotencyService } from './idempotency.service';
import { IdempotencyStore } from './idempotency.store';
import { LocalIdempotencyRecords } from './local-idempotency.records';

/**
 * Idempotency-Key support: records in Redis (in-process without it), IdempotencyService, and the
 * interceptor behind @Idempotent(). A module whose controllers use @Idempotent() imports this one.
 */
@Module({
  imports: [RedisModule],
  providers: [
    { provide: LocalIdempotencyRecords, useFactory: () => new LocalIdempotencyRecords() },
    IdempotencyStore,
    IdempotencyService,
    IdempotencyInterceptor,
  ],
  exports: [IdempotencyService, IdempotencyInterceptor],
})
export class IdempotencyModule {}
