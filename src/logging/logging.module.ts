import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { requestIdFor } from '../common/request-id';
import { AppConfig } from '../config/app-config';

/** Header and config secrets that must never reach a log line. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/**
 * pino as the one logger: JSON lines on stdout (pretty only with LOG_FORMAT=pretty), one line
 * per request, credentials redacted.
 */
@Module({})
export class LoggingModule {
  static forRoot(destination?: DestinationStream): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            pinoHttp: {
              level: config.logLevel,
              redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
              genReqId: (req) => requestIdFor(req),
              transport:
                config.logFormat === 'pretty' && !destination ? { target: 'pino-pretty', options: { singleLine: true } } : undefined,
              stream: destination,
            },
          }),
        }),
      ],
    };
  }
}
