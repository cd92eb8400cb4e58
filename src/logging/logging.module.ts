import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppLogger } from './app-logger';

/** Makes the application's one AppLogger injectable everywhere. */
@Global()
@Module({})
export class LoggingModule {
  static forRoot(logger: AppLogger): DynamicModule {
    return {
      module: LoggingModule,
      providers: [{ provide: AppLogger, useValue: logger }],
      exports: [AppLogger],
    };
  }
}
