import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { NumbersCacheModule } from '../cache/numbers-cache.module';
import { RedisModule } from '../redis/redis.module';
import { SuperfoneModule } from '../superfone/superfone.module';
import { HealthController } from './health.controller';
import { LifecycleHealthIndicator } from './lifecycle.health';
import { LifecycleState } from './lifecycle.state';
import { RedisHealthIndicator } from './redis.health';

@Global()
@Module({
  imports: [
    TerminusModule.forRoot({ logger: false }),
    RedisModule,
    SuperfoneModule,
    NumbersCacheModule,
  ],
  controllers: [HealthController],
  providers: [LifecycleState, LifecycleHealthIndicator, RedisHealthIndicator],
  exports: [LifecycleState],
})
export class HealthModule {}
