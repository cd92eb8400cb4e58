import type { ClientKey } from './client-keys';
import type { RedisSettings } from './redis-settings';

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
  readonly redis: RedisSettings;
  readonly cache: {
    readonly ttlSeconds: number;
    readonly staleSeconds: number;
  };
  readonly breaker: {
    /** Failure percentage in the rolling window that opens the circuit. */
    readonly errorThresholdPercent: number;
    /** Calls in the window before the percentage counts. */
    readonly volumeThreshold: number;
    readonly windowMs: number;
    /** How long the circuit stays open before one probe is let through. */
    readonly resetMs: number;
  };
  /** How long a client may take to send a request, or keep a connection idle, and how many it may hold. */
  readonly http: {
    /** From a connection's first byte (or its opening) to the end of the request headers. */
    readonly headersTimeoutMs: number;
    /** The same start to the end of the request body; at least headersTimeoutMs. */
    readonly requestTimeoutMs: number;
    /** A keep-alive connection with no request in progress is closed after this long. */
    readonly keepAliveTimeoutMs: number;
    /** Open connections this process accepts; one more is closed at once. */
    readonly maxConnections: number;
  };
  readonly rateLimitPerMinute: number;
  /**
   * A request refused for a missing or unknown client key is answered this long after it was
   * refused (0: at once), so a client retrying bad keys in a loop gets at most one 401 per delay
   * per connection.
   */
  readonly authFailureDelayMs: number;
  readonly readinessRequiresRedis: boolean;
  readonly shutdown: {
    /** After SIGTERM: readiness is 503 at once, new connections are still accepted this long. */
    readonly delayMs: number;
    /** Then: the budget for in-flight requests and connections to finish. */
    readonly timeoutMs: number;
  };
  /** Serve /metrics on this port instead of the main one. */
  readonly metricsPort: number | undefined;
  readonly corsOrigins: readonly string[];
  readonly logLevel: LogLevel;
  readonly logFormat: 'json' | 'pretty';
  /** Refused requests (401, 429) are counted and logged as one summary line per this interval. */
  readonly logSummaryIntervalMs: number;

  constructor(values: AppConfigValues) {
    Object.assign(this, values);
  }
}

/** AppConfig's fields as a plain object: what `loadConfig` assembles. */
export type AppConfigValues = { readonly [K in keyof AppConfig]: AppConfig[K] };
