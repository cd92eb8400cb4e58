import { hash } from 'node:crypto';
import { ConfigError, loadConfig } from './load-config';

const sha256 = (value: string): Buffer => hash('sha256', value, 'buffer');

const CLIENT_KEYS = JSON.stringify([
  { id: 'billing-app', keySha256: sha256('k').toString('hex'), scopes: ['numbers:read'] },
]);
const minimal = { SUPERFONE_API_KEY: 'server-key', CLIENT_KEYS };

function problemsOf(env: Record<string, string>, readFile?: (path: string) => string): string[] {
  try {
    loadConfig(env, readFile);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe(loadConfig.name, () => {
  it('applies the documented defaults', () => {
    const sut = loadConfig(minimal);

    expect(sut).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      superfone: {
        baseUrl: 'https://prod-api.superfone.co.in/superfone',
        apiKey: 'server-key',
        timeoutMs: 3000,
      },
      redis: {
        topology: undefined,
        username: undefined,
        password: undefined,
        tls: false,
        tlsCa: undefined,
        keyPrefix: 'superfone-bff:',
        commandTimeoutMs: 50,
      },
      cache: { ttlSeconds: 30, staleSeconds: 300 },
      http: {
        headersTimeoutMs: 10000,
        requestTimeoutMs: 30000,
        keepAliveTimeoutMs: 72000,
        maxConnections: 960,
      },
      authFailureDelayMs: 100,
      corsOrigins: [],
      logLevel: 'info',
      logFormat: 'json',
      logSummaryIntervalMs: 10000,
    });
    expect(sut.clients).toEqual([
      { id: 'billing-app', keySha256: sha256('k'), scopes: new Set(['numbers:read']) },
    ]);
  });

  it('names every bad setting at once, never its value', () => {
    const env = {
      PORT: 'eighty',
      SUPERFONE_BASE_URL: 'ftp://secret-host.example',
      SUPERFONE_TIMEOUT_MS: '5',
      CLIENT_KEYS: '[{"id":"a","keySha256":"nothex","scopes":["numbers:write"],"extra":1}]',
      REDIS_URL: 'http://user:hunter2@redis',
      CACHE_TTL_SECONDS: '-1',
      LOG_LEVEL: 'loud',
      CORS_ORIGINS: 'https://ok.example,not a url',
      AUTH_FAILURE_DELAY_MS: '5001',
      LOG_SUMMARY_INTERVAL_MS: '50',
    };

    const problems = problemsOf(env);

    expect(problems.map((p) => p.split(/[ .[]/)[0])).toEqual([
      'PORT',
      'SUPERFONE_BASE_URL',
      'SUPERFONE_API_KEY',
      'SUPERFONE_TIMEOUT_MS',
      'CLIENT_KEYS',
      'CLIENT_KEYS',
      'CLIENT_KEYS',
      'REDIS_URL',
      'CACHE_TTL_SECONDS',
      'AUTH_FAILURE_DELAY_MS',
      'CORS_ORIGINS',
      'LOG_LEVEL',
      'LOG_SUMMARY_INTERVAL_MS',
    ]);
    const text = problems.join('\n');
    for (const value of [
      'eighty',
      'secret-host',
      'nothex',
      'numbers:write',
      'hunter2',
      'loud',
      'not a url',
    ]) {
      expect(text).not.toContain(value);
    }
    expect(text).toContain('CLIENT_KEYS[0].keySha256 must be 64 hex characters');
    expect(text).toContain('CLIENT_KEYS[0] has unknown fields: extra');
  });

  it('turns the 401 delay off with AUTH_FAILURE_DELAY_MS=0', () => {
    expect(loadConfig({ ...minimal, AUTH_FAILURE_DELAY_MS: '0' }).authFailureDelayMs).toBe(0);
  });

  it('reads secrets from *_FILE and refuses both forms at once', () => {
    const files: Record<string, string> = {
      '/run/key': 'from-file\n',
      '/run/clients': CLIENT_KEYS,
    };
    const readFile = (path: string) => {
      if (!(path in files)) throw new Error('ENOENT');
      return files[path];
    };

    const sut = loadConfig(
      { SUPERFONE_API_KEY_FILE: '/run/key', CLIENT_KEYS_FILE: '/run/clients' },
      readFile,
    );
    expect(sut.superfone.apiKey).toBe('from-file');
    expect(sut.clients).toHaveLength(1);

    expect(problemsOf({ ...minimal, SUPERFONE_API_KEY_FILE: '/run/key' }, readFile)).toEqual([
      'SUPERFONE_API_KEY and SUPERFONE_API_KEY_FILE are both set; set only one',
    ]);
    expect(problemsOf({ CLIENT_KEYS, SUPERFONE_API_KEY_FILE: '/missing' }, readFile)).toEqual([
      'SUPERFONE_API_KEY_FILE names a file that cannot be read',
    ]);
  });

  it('rejects duplicate client ids and keys, and invalid JSON', () => {
    const entry = { id: 'a', keySha256: sha256('k').toString('hex'), scopes: ['numbers:read'] };

    expect(
      problemsOf({ SUPERFONE_API_KEY: 'k', CLIENT_KEYS: JSON.stringify([entry, entry]) }),
    ).toEqual([
      'CLIENT_KEYS lists the same id twice',
      'CLIENT_KEYS lists the same keySha256 twice',
    ]);
    expect(problemsOf({ SUPERFONE_API_KEY: 'k', CLIENT_KEYS: '[{' })).toEqual([
      'CLIENT_KEYS is not valid JSON',
    ]);
    expect(problemsOf({ SUPERFONE_API_KEY: 'k', CLIENT_KEYS: '[]' })).toEqual([
      'CLIENT_KEYS must list at least one client',
    ]);
  });

  it('accepts a password-protected REDIS_URL and trims a trailing slash from the base URL', () => {
    const sut = loadConfig({
      ...minimal,
      REDIS_URL: 'redis://:pw@10.0.0.5:6380/2',
      SUPERFONE_BASE_URL: 'http://stand-in:4010/superfone/',
    });

    expect(sut.redis.topology).toEqual({ kind: 'url', url: 'redis://:pw@10.0.0.5:6380/2' });
    expect(sut.superfone.baseUrl).toBe('http://stand-in:4010/superfone');
  });

  describe('slow-client deadlines and the connection cap', () => {
    it('reads them', () => {
      const sut = loadConfig({
        ...minimal,
        HTTP_HEADERS_TIMEOUT_MS: '5000',
        HTTP_REQUEST_TIMEOUT_MS: '5000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '620000',
        HTTP_MAX_CONNECTIONS: '4000',
      });

      expect(sut.http).toEqual({
        headersTimeoutMs: 5000,
        requestTimeoutMs: 5000,
        keepAliveTimeoutMs: 620000,
        maxConnections: 4000,
      });
    });

    it('names each bad value, never the value', () => {
      const problems = problemsOf({
        ...minimal,
        HTTP_HEADERS_TIMEOUT_MS: '10s',
        HTTP_REQUEST_TIMEOUT_MS: '99',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '-72000',
        HTTP_MAX_CONNECTIONS: '0',
      });

      expect(problems).toEqual([
        'HTTP_HEADERS_TIMEOUT_MS must be a whole number from 100 to 300000',
        'HTTP_REQUEST_TIMEOUT_MS must be a whole number from 100 to 300000',
        'HTTP_KEEP_ALIVE_TIMEOUT_MS must be a whole number from 100 to 3600000',
        'HTTP_MAX_CONNECTIONS must be a whole number from 1 to 1000000',
      ]);
      const text = problems.join('\n');
      for (const value of ['10s', '99', '-72000']) expect(text).not.toContain(value);
    });

    it('refuses a request deadline shorter than the header deadline it includes', () => {
      expect(
        problemsOf({
          ...minimal,
          HTTP_HEADERS_TIMEOUT_MS: '20000',
          HTTP_REQUEST_TIMEOUT_MS: '15000',
        }),
      ).toEqual([
        'HTTP_REQUEST_TIMEOUT_MS must be at least HTTP_HEADERS_TIMEOUT_MS (the request deadline includes the headers)',
      ]);
      // The default request deadline (30 s) is too short for a 60 s header deadline: say so too.
      expect(problemsOf({ ...minimal, HTTP_HEADERS_TIMEOUT_MS: '60000' })).toHaveLength(1);
    });
  });

  describe('Redis topologies', () => {
    const files: Record<string, string> = {
      '/run/redis-pw': 's3cret\n',
      '/run/sentinel-pw': 'sentinel-s3cret',
      '/run/ca.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n',
    };
    const readFile = (path: string) => {
      if (!(path in files)) throw new Error('ENOENT');
      return files[path];
    };

    it('reads a Sentinel group with its master name, passwords from files, TLS and an own CA', () => {
      const sut = loadConfig(
        {
          ...minimal,
          REDIS_SENTINELS: 'sentinel-0.redis:26379, sentinel-1.redis:26379,[::1]:26380',
          REDIS_SENTINEL_MASTER: 'cache-master',
          REDIS_SENTINEL_PASSWORD_FILE: '/run/sentinel-pw',
          REDIS_USERNAME: 'superfone-bff',
          REDIS_PASSWORD_FILE: '/run/redis-pw',
          REDIS_TLS: 'true',
          REDIS_TLS_CA_FILE: '/run/ca.pem',
        },
        readFile,
      );

      expect(sut.redis).toMatchObject({
        topology: {
          kind: 'sentinel',
          masterName: 'cache-master',
          sentinelPassword: 'sentinel-s3cret',
          sentinels: [
            { host: 'sentinel-0.redis', port: 26379 },
            { host: 'sentinel-1.redis', port: 26379 },
            { host: '::1', port: 26380 },
          ],
        },
        username: 'superfone-bff',
        password: 's3cret',
        tls: true,
        tlsCa: files['/run/ca.pem'],
      });
    });

    it('defaults the Sentinel master name to mymaster, and reads cluster seed nodes', () => {
      expect(loadConfig({ ...minimal, REDIS_SENTINELS: 's:26379' }).redis.topology).toMatchObject({
        kind: 'sentinel',
        masterName: 'mymaster',
      });
      expect(
        loadConfig({ ...minimal, REDIS_CLUSTER_NODES: 'a:7000,b:7001' }).redis.topology,
      ).toEqual({
        kind: 'cluster',
        nodes: [
          { host: 'a', port: 7000 },
          { host: 'b', port: 7001 },
        ],
      });
    });

    it('turns TLS on for a rediss:// URL', () => {
      expect(loadConfig({ ...minimal, REDIS_URL: 'rediss://cache.example:6380' }).redis.tls).toBe(
        true,
      );
    });

    it('refuses two topologies at once in one line naming them, never their values', () => {
      const problems = problemsOf({
        ...minimal,
        REDIS_URL: 'redis://:hunter2@a:6379',
        REDIS_CLUSTER_NODES: 'secret-host:7000',
      });

      expect(problems).toEqual([
        'REDIS_URL and REDIS_CLUSTER_NODES are both set; set only one Redis topology',
      ]);
      expect(
        problemsOf({
          ...minimal,
          REDIS_URL: 'redis://a',
          REDIS_SENTINELS: 'b:1',
          REDIS_CLUSTER_NODES: 'c:2',
        }),
      ).toEqual([
        'REDIS_URL and REDIS_SENTINELS and REDIS_CLUSTER_NODES are all set; set only one Redis topology',
      ]);
    });

    it('names malformed node lists, unreadable files and a password given twice', () => {
      const problems = problemsOf(
        {
          ...minimal,
          REDIS_SENTINELS: 'ok:1,hunter2',
          REDIS_PASSWORD: 'x',
          REDIS_PASSWORD_FILE: '/run/redis-pw',
          REDIS_TLS_CA_FILE: '/missing.pem',
          REDIS_TLS: 'yes',
        },
        readFile,
      );

      expect(problems).toEqual([
        'REDIS_SENTINELS must be a comma-separated list of host:port',
        'REDIS_PASSWORD and REDIS_PASSWORD_FILE are both set; set only one',
        'REDIS_TLS must be true or false',
        'REDIS_TLS_CA_FILE names a file that cannot be read',
      ]);
      expect(problems.join('\n')).not.toContain('hunter2');
      expect(problemsOf({ ...minimal, REDIS_CLUSTER_NODES: 'a:0' })).toEqual([
        'REDIS_CLUSTER_NODES must be a comma-separated list of host:port',
      ]);
    });
  });
});
