import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AppsModule } from './apps/apps.module';
import { AuthFailureDelay } from './auth/auth-failure-delay';
import { ClientKeyGuard } from './auth/client-key.guard';
import { ProblemFilter } from './common/problem.filter';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { HealthModule } from './health/health.module';
import { AppLogger } from './logging/app-logger';
import { LoggingModule } from './logging/logging.module';
import { MetricsModule } from './metrics/metrics.module';
import { NumbersModule } from './numbers/numbers.module';
import { ClientRateLimitGuard } from './rate-limit/client-rate-limit.guard';
import { RateLimitModule } from './rate-limit/rate-limit.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: AppLogger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(logger),
        MetricsModule.forRoot(config),
        HealthModule,
        RateLimitModule,
        NumbersModule,
        AppsModule,
      ],
      providers: [
        AuthFailureDelay,
        // Order matters: authenticate first, then count the request against that client's budget.
        { provide: APP_GUARD, useClass: ClientKeyGuard },
        { provide: APP_GUARD, useClass: ClientRateLimitGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
      ],
    };
  }
}
