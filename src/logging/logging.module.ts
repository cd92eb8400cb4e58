import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppLogger } from './app-logger';
import { RefusedRequests } from './refused-requests';

/** Makes the application's one AppLogger, and its summary of refused requests, injectable everywhere. */
@Global()
@Module({})
export class LoggingModule {
  static forRoot(logger: AppLogger): DynamicModule {
    return {
      module: LoggingModule,
      providers: [{ provide: AppLogger, useValue: logger }, RefusedRequests],
      exports: [AppLogger, RefusedRequests],
    };
  }
}
