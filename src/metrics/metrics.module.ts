import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { Metrics } from './metrics';
import { MetricsText } from './metrics-text';
import { MetricsController } from './metrics.controller';
import { MetricsServer } from './metrics.server';

/** Prometheus metrics: at /metrics on the main port, or on METRICS_PORT when set. */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: MetricsModule,
      controllers: config.metricsPort === undefined ? [MetricsController] : [],
      providers: [
        Metrics,
        {
          provide: MetricsText,
          useFactory: (metrics: Metrics) => new MetricsText(metrics.registry),
          inject: [Metrics],
        },
        MetricsServer,
      ],
      exports: [Metrics],
    };
  }
}
