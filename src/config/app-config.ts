import type { ClientKey } from '../auth/client-keys';

/** Log levels pino understands; LOG_LEVEL must be one of them. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The service's settings, parsed and validated once at boot by `loadConfig`.
 * Features inject this class; nothing else reads `process.env`.
 */
export class AppConfig {
  readonly port: number;
  readonly host: string;
  readonly superfone: {
    readonly baseUrl: string;
    readonly apiKey: string;
    readonly timeoutMs: number;
  };
  readonly clients: readonly ClientKey[];
  readonly redis: {
    /** Absent: the in-process tier alone serves. */
    readonly url: string | undefined;
    readonly keyPrefix: string;
    readonly commandTimeoutMs: number;
  };
  readonly cache: {
    readonly ttlSeconds: number;
    readonly staleSeconds: number;
  };
  readonly corsOrigins: readonly string[];
  readonly logLevel: LogLevel;
  readonly logFormat: 'json' | 'pretty';

  constructor(values: AppConfig) {
    Object.assign(this, values);
  }
}
