import { readFileSync } from 'node:fs';
import { parseClientKeys } from './client-keys';
import { AppConfig, LOG_LEVELS, LogLevel } from './app-config';
import {
  RedisNodeAddress,
  RedisSettings,
  RedisTopology,
  TOPOLOGY_SETTINGS,
} from './redis-settings';

/** Thrown when one or more settings are missing or malformed; lists every one by name, never a value. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;
type ReadFile = (path: string) => string;

const readUtf8: ReadFile = (path) => readFileSync(path, 'utf8');

/**
 * Parses the environment into an AppConfig, collecting every problem before failing so an
 * operator fixes them all in one go.
 */
export function loadConfig(env: Env, readFile: ReadFile = readUtf8): AppConfig {
  const problems: string[] = [];
  const s = new Settings(env, readFile, problems);

  const config = new AppConfig({
    port: s.int('PORT', 3000, 0, 65535),
    host: s.text('HOST', '0.0.0.0'),
    superfone: {
      baseUrl: s.httpUrl('SUPERFONE_BASE_URL', 'https://prod-api.superfone.co.in/superfone'),
      apiKey: s.secret('SUPERFONE_API_KEY', (value) =>
        /^[\x21-\x7e]+$/.test(value) ? undefined : 'must be printable ASCII without spaces',
      ),
      timeoutMs: s.int('SUPERFONE_TIMEOUT_MS', 3000, 100, 60000),
    },
    clients: parseClientKeys(s.secret('CLIENT_KEYS'), s.sourceName('CLIENT_KEYS'), problems),
    redis: redisSettings(s),
    cache: {
      ttlSeconds: s.int('CACHE_TTL_SECONDS', 30, 1, 86400),
      staleSeconds: s.int('CACHE_STALE_SECONDS', 300, 0, 604800),
    },
    breaker: {
      errorThresholdPercent: s.int('BREAKER_ERROR_THRESHOLD_PERCENT', 50, 1, 100),
      volumeThreshold: s.int('BREAKER_VOLUME_THRESHOLD', 5, 1, 1000),
      windowMs: s.int('BREAKER_WINDOW_MS', 30000, 1000, 600000),
      resetMs: s.int('BREAKER_RESET_MS', 15000, 100, 600000),
    },
    http: httpSettings(s),
    rateLimitPerMinute: s.int('RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    authFailureDelayMs: s.int('AUTH_FAILURE_DELAY_MS', 100, 0, 5000),
    readinessRequiresRedis: s.bool('READINESS_REQUIRES_REDIS', false),
    shutdown: {
      delayMs: s.int('SHUTDOWN_DELAY_MS', 5000, 0, 120000),
      timeoutMs: s.int('SHUTDOWN_TIMEOUT_MS', 20000, 100, 600000),
    },
    metricsPort: s.optionalInt('METRICS_PORT', 0, 65535),
    corsOrigins: s.origins('CORS_ORIGINS'),
    logLevel: s.oneOf('LOG_LEVEL', LOG_LEVELS, 'info') as LogLevel,
    logFormat: s.oneOf('LOG_FORMAT', ['json', 'pretty'] as const, 'json') as 'json' | 'pretty',
    logSummaryIntervalMs: s.int('LOG_SUMMARY_INTERVAL_MS', 10000, 100, 600000),
  });

  if (config.logFormat === 'pretty' && !resolvable('pino-pretty')) {
    problems.push(
      'LOG_FORMAT=pretty needs pino-pretty, a development dependency that production images leave out; use json',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function redisSettings(s: Settings): RedisSettings {
  const chosen = TOPOLOGY_SETTINGS.filter((name) => s.isSet(name));
  if (chosen.length > 1)
    s.problem(
      `${chosen.join(' and ')} are ${chosen.length === 2 ? 'both' : 'all'} set; set only one Redis topology`,
    );
  const url = s.redisUrl('REDIS_URL');
  let topology: RedisTopology | undefined;
  if (chosen[0] === 'REDIS_URL' && url) topology = { kind: 'url', url };
  if (chosen[0] === 'REDIS_SENTINELS') {
    topology = {
      kind: 'sentinel',
      sentinels: s.nodeList('REDIS_SENTINELS'),
      masterName: s.text('REDIS_SENTINEL_MASTER', 'mymaster'),
      sentinelPassword: s.optionalSecret('REDIS_SENTINEL_PASSWORD'),
    };
  }
  if (chosen[0] === 'REDIS_CLUSTER_NODES')
    topology = { kind: 'cluster', nodes: s.nodeList('REDIS_CLUSTER_NODES') };
  const caFile = s.text('REDIS_TLS_CA_FILE', '');
  return {
    topology,
    username: s.isSet('REDIS_USERNAME') ? s.text('REDIS_USERNAME', '') : undefined,
    password: s.optionalSecret('REDIS_PASSWORD'),
    tls: s.bool('REDIS_TLS', false) || url?.startsWith('rediss:') === true,
    tlsCa: caFile ? s.fileText('REDIS_TLS_CA_FILE', caFile) : undefined,
    keyPrefix: s.text('REDIS_KEY_PREFIX', 'superfone-bff:'),
    commandTimeoutMs: s.int('REDIS_COMMAND_TIMEOUT_MS', 50, 5, 5000),
  };
}

/**
 * The slow-client deadlines and the connection cap (docs/configuration.md says why each default).
 * Node refuses a header deadline longer than the request deadline, and so does this, by name.
 */
function httpSettings(s: Settings): AppConfig['http'] {
  const headersTimeoutMs = s.int('HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 300_000);
  const requestTimeoutMs = s.int('HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 300_000);
  if (requestTimeoutMs < headersTimeoutMs)
    s.problem(
      'HTTP_REQUEST_TIMEOUT_MS must be at least HTTP_HEADERS_TIMEOUT_MS (the request deadline includes the headers)',
    );
  return {
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: s.int('HTTP_KEEP_ALIVE_TIMEOUT_MS', 72_000, 100, 3_600_000),
    maxConnections: s.int('HTTP_MAX_CONNECTIONS', 960, 1, 1_000_000),
  };
}

function resolvable(moduleName: string): boolean {
  try {
    require.resolve(moduleName);
    return true;
  } catch {
    return false;
  }
}

/** Reads one setting at a time, recording a named problem instead of throwing. */
class Settings {
  constructor(
    private readonly env: Env,
    private readonly readFile: ReadFile,
    private readonly problems: string[],
  ) {}

  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  private fail<T>(name: string, why: string, fallback: T): T {
    this.problems.push(`${name} ${why}`);
    return fallback;
  }

  /** A problem that names several settings at once (the message starts with their names). */
  problem(message: string): void {
    this.problems.push(message);
  }

  isSet(name: string): boolean {
    return this.raw(name) !== undefined;
  }

  /** `host:port,host:port`: Redis sentinels or cluster seed nodes. */
  nodeList(name: string): RedisNodeAddress[] {
    const entries = (this.raw(name) ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    const nodes = entries.map((entry) => {
      const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
      const port = match ? Number(match[2]) : 0;
      return match && port > 0 && port <= 65535
        ? { host: match[1].replace(/^\[|\]$/g, ''), port }
        : undefined;
    });
    if (nodes.length === 0 || nodes.some((n) => n === undefined)) {
      return this.fail(name, 'must be a comma-separated list of host:port', []);
    }
    return nodes as RedisNodeAddress[];
  }

  /** The text of the file a setting names (a CA certificate, say). */
  fileText(name: string, path: string): string | undefined {
    try {
      const text = this.readFile(path);
      return text.trim() === ''
        ? this.fail<string | undefined>(name, 'names an empty file', undefined)
        : text;
    } catch {
      return this.fail<string | undefined>(name, 'names a file that cannot be read', undefined);
    }
  }

  /** An optional secret from NAME or NAME_FILE (not both). */
  optionalSecret(name: string): string | undefined {
    if (this.raw(name) === undefined && this.raw(`${name}_FILE`) === undefined) return undefined;
    const value = this.secret(name);
    return value === '' ? undefined : value;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      return this.fail(name, `must be a whole number from ${min} to ${max}`, fallback);
    }
    return n;
  }

  optionalInt(name: string, min: number, max: number): number | undefined {
    return this.raw(name) === undefined ? undefined : this.int(name, min, min, max);
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (value === 'true' || value === 'false') return value === 'true';
    return this.fail(name, 'must be true or false', fallback);
  }

  text(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  oneOf(name: string, allowed: readonly string[], fallback: string): string {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    return allowed.includes(value)
      ? value
      : this.fail(name, `must be one of: ${allowed.join(', ')}`, fallback);
  }

  httpUrl(name: string, fallback: string): string {
    const value = this.raw(name) ?? fallback;
    const url = URL.canParse(value) ? new URL(value) : undefined;
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password) {
      return this.fail(name, 'must be an http(s) URL without credentials', fallback);
    }
    return value.replace(/\/+$/, '');
  }

  redisUrl(name: string): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const url = URL.canParse(value) ? new URL(value) : undefined;
    if (!url || !['redis:', 'rediss:'].includes(url.protocol) || !url.hostname) {
      return this.fail<string | undefined>(name, 'must be a redis:// or rediss:// URL', undefined);
    }
    return value;
  }

  origins(name: string): string[] {
    const value = this.raw(name);
    if (value === undefined) return [];
    const origins = value
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
    const bad = origins.some((o) => !URL.canParse(o) || new URL(o).origin !== o);
    return bad
      ? this.fail(
          name,
          'must be a comma-separated list of origins like https://app.example.com',
          [],
        )
      : origins;
  }

  /** Which of NAME or NAME_FILE supplied the value, for messages. */
  sourceName(name: string): string {
    return this.raw(`${name}_FILE`) !== undefined ? `${name}_FILE` : name;
  }

  /** A required secret from NAME or from the file named by NAME_FILE (exactly one of them). */
  secret(name: string, check?: (value: string) => string | undefined): string {
    const direct = this.raw(name);
    const file = this.raw(`${name}_FILE`);
    if (direct !== undefined && file !== undefined) {
      return this.fail(name, `and ${name}_FILE are both set; set only one`, '');
    }
    if (direct === undefined && file === undefined) {
      return this.fail(name, `(or ${name}_FILE) is required`, '');
    }
    let value = direct;
    if (file !== undefined) {
      try {
        value = this.readFile(file).trim();
      } catch {
        return this.fail(`${name}_FILE`, 'names a file that cannot be read', '');
      }
      if (value === '') return this.fail(`${name}_FILE`, 'names an empty file', '');
    }
    const why = check?.(value as string);
    return why ? this.fail(this.sourceName(name), why, '') : (value as string);
  }
}
