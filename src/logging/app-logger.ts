import { LoggerService } from '@nestjs/common';
import pino, { DestinationStream, Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { StdoutDestination } from './stdout-destination';

/** Paths pino blanks in every line, wherever a credential could ride along. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
];

/**
 * The service's one logger: pino, JSON lines on stdout (pretty only with LOG_FORMAT=pretty).
 * One instance per application, so several apps in one process (tests) keep their own lines.
 */
export class AppLogger {
  readonly pino: Logger;

  constructor(config: AppConfig, destination?: DestinationStream) {
    const transport =
      config.logFormat === 'pretty' && !destination
        ? pino.transport({ target: 'pino-pretty', options: { singleLine: true } })
        : undefined;
    this.pino = pino(
      {
        level: config.logLevel,
        base: { service: 'superfone-bff' },
        redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      },
      destination ?? transport ?? new StdoutDestination(),
    );
  }

  /** A child logger whose lines carry `context` (the class or concern that writes them). */
  child(context: string): Logger {
    return this.pino.child({ context });
  }
}

/** Routes Nest's own messages (bootstrap, route mapping) into the same pino logger. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
