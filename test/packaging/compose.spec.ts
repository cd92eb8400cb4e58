/**
 * Checks docker-compose.yml and the demo env file at the YAML level, and, when a Compose CLI is on
 * PATH, has it resolve the default, demo and sentinel setups (`config -q`). Nothing is built or
 * started; the sentinels' config-writing script runs in sh with a stand-in for redis-server.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, parseDocument } from 'yaml';
import { SCOPES } from '../../src/config/client-keys';
import { defined } from '../support/defined';

const ROOT = join(__dirname, '..', '..');
const DEMO_CLIENT_KEY = 'demo-client-key-for-local-use-only';
const DEMO_SUPERFONE_KEY = 'demo-superfone-key';
const DEMO_ENV_FILE = 'compose.demo.env';

interface Service {
  build?: unknown;
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  profiles?: string[];
  ports?: string[];
  user?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  cap_drop?: string[];
  security_opt?: string[];
  read_only?: boolean;
  tmpfs?: string[];
  stop_grace_period?: string;
}

const composeText = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText) as { services: Record<string, Service> };
const services = compose.services;
const bff = services['superfone-bff'];
const standIn = services['superfone-stand-in'];

/** A small .env reader: KEY=value lines, '#' comments, single-quoted values taken literally. */
function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2].replace(/^'(.*)'$/, '$1');
  }
  return env;
}

const demoEnv = readEnvFile(join(ROOT, DEMO_ENV_FILE));
const sha256Hex = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');
const seconds = (duration: string) => Number(/^(\d+)s$/.exec(duration)?.[1] ?? NaN);

describe('docker-compose.yml', () => {
  it('parses cleanly and defines the service, Redis, the stand-in and the sentinel profile', () => {
    expect(parseDocument(composeText).errors).toEqual([]);
    expect(Object.keys(services).sort()).toEqual([
      'redis',
      'redis-master',
      'redis-replica',
      'sentinel-1',
      'sentinel-2',
      'sentinel-3',
      'superfone-bff',
      'superfone-bff-sentinel',
      'superfone-stand-in',
    ]);
  });

  it('requires a real SUPERFONE_API_KEY and CLIENT_KEYS, failing with a message when unset', () => {
    expect(bff.environment?.SUPERFONE_API_KEY).toMatch(/^\$\{SUPERFONE_API_KEY:\?.+\}$/);
    expect(bff.environment?.CLIENT_KEYS).toMatch(/^\$\{CLIENT_KEYS:\?.+\}$/);
    expect(bff.environment?.REDIS_URL).toBe('redis://redis:6379');
    // Only json works in the image (pino-pretty is a dev dependency).
    expect(bff.environment?.LOG_FORMAT).toBe('json');
  });

  it('runs the stand-in only in the demo profile, from the same image, on 0.0.0.0', () => {
    expect(standIn.profiles).toEqual(['demo']);
    expect(bff.profiles).toBeUndefined();
    expect(services.redis.profiles).toBeUndefined();
    expect(standIn.build).toEqual(bff.build);
    expect(standIn.command).toEqual(['node', 'dist/tools/superfone-stand-in/main.js']);
    expect(standIn.environment?.STAND_IN_HOST).toBe('0.0.0.0');
    // The stand-in accepts exactly the key the service sends.
    expect(standIn.environment?.SUPERFONE_API_KEY).toBe(bff.environment?.SUPERFONE_API_KEY);
    // It must not inherit the image's HEALTHCHECK, which probes the service's port.
    expect(standIn.healthcheck?.test.join(' ')).toContain('/__stand-in/stats');
  });

  it('starts the service only once Redis answers PING', () => {
    expect(services.redis.image).toMatch(/^redis:7-alpine/);
    expect(services.redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(bff.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
  });

  it.each(Object.keys(services))(
    '%s is locked down: no capabilities, no new privileges, read-only with /tmp',
    (name) => {
      const s = services[name];
      expect(s.cap_drop).toEqual(['ALL']);
      expect(s.security_opt).toEqual(['no-new-privileges:true']);
      expect(s.read_only).toBe(true);
      expect(s.tmpfs).toContain('/tmp');
    },
  );

  it('gives the service time to drain on stop (SHUTDOWN_DELAY_MS 5 s + SHUTDOWN_TIMEOUT_MS 20 s)', () => {
    expect(seconds(bff.stop_grace_period ?? '')).toBeGreaterThan(25);
  });
});

describe('docker-compose.yml "sentinel" profile', () => {
  const SENTINELS = ['sentinel-1', 'sentinel-2', 'sentinel-3'];
  const NODES = ['redis-master', 'redis-replica'];
  const bffSentinel = services['superfone-bff-sentinel'];
  /** `--flag value` from an argv list. */
  const flag = (argv: string[] | undefined, name: string) => {
    const list = argv ?? [];
    const i = list.indexOf(name);
    return i < 0 ? undefined : list.slice(i + 1, i + (name === '--replicaof' ? 3 : 2)).join(' ');
  };

  /**
   * Runs a sentinel's command in sh as the container would (compose's `$$` already turned into `$`),
   * with its config path moved to a scratch directory and a redis-server that only records its argv.
   * Returns the config file it wrote and the argv redis-server got.
   */
  function runSentinelScript(name: string): { config: string[]; argv: string[] } {
    const [shell, dashC, script] = defined(services[name].command, `${name}'s command`);
    expect([shell, dashC]).toEqual(['sh', '-c']);
    // Every $ is for sh, so each is written $$: a single one would be Compose's to replace (with nothing).
    expect(script.replace(/\$\$/g, '')).not.toContain('$');
    const scratch = mkdtempSync(join(tmpdir(), 'compose-sentinel-'));
    try {
      writeFileSync(join(scratch, 'redis-server'), '#!/bin/sh\nprintf "%s\\n" "$@"\n');
      chmodSync(join(scratch, 'redis-server'), 0o755);
      // The config path must lie in the container's tmpfs: the root filesystem is read-only.
      const configPath = /^cat > (\S+) <<EOF$/m.exec(script)?.[1] ?? '';
      expect(services[name].tmpfs).toContain(dirname(configPath));
      const local = script
        .replace(/\$\$/g, '$')
        .split(configPath)
        .join(join(scratch, 'sentinel.conf'));
      const result = spawnSync('sh', ['-c', local], {
        encoding: 'utf8',
        env: { PATH: `${scratch}:${process.env.PATH ?? ''}`, ...services[name].environment },
      });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
      const config = readFileSync(join(scratch, 'sentinel.conf'), 'utf8').trim().split('\n');
      const argv = result.stdout
        .trim()
        .split('\n')
        .map((a) => a.split(join(scratch, 'sentinel.conf')).join(configPath));
      return { config, argv };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  it('adds its services only in the sentinel profile', () => {
    for (const name of ['superfone-bff-sentinel', ...NODES, ...SENTINELS])
      expect(services[name].profiles).toEqual(['sentinel']);
  });

  it('runs a master and one replica of it, each announcing its own service name', () => {
    for (const name of NODES) {
      expect(services[name].image).toMatch(/^redis:7-alpine/);
      expect(services[name].user).toBe('redis');
      expect(services[name].healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
      // Container IPs change on recreation; names do not (and the sentinels resolve them).
      expect(flag(services[name].command, '--replica-announce-ip')).toBe(name);
      expect(flag(services[name].command, '--save')).toBe('');
    }
    expect(flag(services['redis-master'].command, '--replicaof')).toBeUndefined();
    expect(flag(services['redis-replica'].command, '--replicaof')).toBe('redis-master 6379');
    expect(services['redis-replica'].depends_on).toEqual({
      'redis-master': { condition: 'service_healthy' },
    });
  });

  it.each(SENTINELS)(
    '%s writes its config into /tmp and runs redis-server --sentinel on it',
    (name) => {
      const { config, argv } = runSentinelScript(name);
      expect(argv).toEqual(['/tmp/sentinel.conf', '--sentinel']);
      expect(config).toEqual([
        'port 26379',
        'dir /tmp',
        // Before `monitor`: without resolve-hostnames Sentinel accepts IP addresses only.
        'sentinel resolve-hostnames yes',
        'sentinel announce-hostnames yes',
        `sentinel announce-ip ${name}`,
        'sentinel monitor mymaster redis-master 6379 2',
        'sentinel down-after-milliseconds mymaster 5000',
        'sentinel failover-timeout mymaster 20000',
        'sentinel parallel-syncs mymaster 1',
      ]);
      expect(services[name].image).toMatch(/^redis:7-alpine/);
      expect(services[name].user).toBe('redis');
      expect(services[name].depends_on).toEqual({
        'redis-master': { condition: 'service_healthy' },
        'redis-replica': { condition: 'service_healthy' },
      });
      expect(services[name].healthcheck?.test.join(' ')).toContain('SENTINEL CKQUORUM mymaster');
    },
  );

  it('has three sentinels and a quorum of 2, a majority of them', () => {
    const quorums = SENTINELS.map((name) =>
      Number(
        /^sentinel monitor \S+ \S+ \d+ (\d+)$/m.exec(
          runSentinelScript(name).config.join('\n'),
        )?.[1],
      ),
    );
    expect(quorums).toEqual([2, 2, 2]);
    expect(quorums[0]).toBe(Math.floor(SENTINELS.length / 2) + 1);
    expect(
      Object.keys(services)
        .filter((n) => /sentinel monitor/.test(services[n].command?.join(' ') ?? ''))
        .sort(),
    ).toEqual(SENTINELS);
  });

  it('points a second copy of the service at the sentinels, not at a Redis node', () => {
    const env = defined(bffSentinel.environment, 'superfone-bff-sentinel environment');
    expect(env.REDIS_SENTINELS).toBe(SENTINELS.map((n) => `${n}:26379`).join(','));
    expect(env.REDIS_SENTINEL_MASTER).toBe('mymaster');
    // One topology only: the app refuses to boot with two.
    expect(
      Object.keys(env).filter((k) => ['REDIS_URL', 'REDIS_CLUSTER_NODES'].includes(k)),
    ).toEqual([]);
    expect(bffSentinel.depends_on).toEqual(
      Object.fromEntries(SENTINELS.map((n) => [n, { condition: 'service_healthy' }])),
    );
    // Same image and keys as the default service, on its own loopback port.
    expect(bffSentinel.build).toEqual(bff.build);
    for (const key of ['SUPERFONE_API_KEY', 'CLIENT_KEYS', 'SUPERFONE_BASE_URL', 'LOG_FORMAT'])
      expect(env[key]).toBe(bff.environment?.[key]);
    expect(bffSentinel.ports).toEqual(['127.0.0.1:${BFF_SENTINEL_PORT:-3001}:3000']);
    expect(bff.ports).toEqual(['127.0.0.1:${BFF_PORT:-3000}:3000']);
    expect(seconds(bffSentinel.stop_grace_period ?? '')).toBeGreaterThan(25);
  });

  it('the header comment shows how to start it and force a failover', () => {
    expect(composeText).toContain('--profile sentinel up');
    expect(composeText).toContain(
      'docker compose exec sentinel-1 redis-cli -p 26379 SENTINEL FAILOVER mymaster',
    );
  });
});

describe(DEMO_ENV_FILE, () => {
  it('admits the demo client key with every scope: its keySha256 is the SHA-256 of that key', () => {
    const clientKeys = JSON.parse(demoEnv.CLIENT_KEYS) as Array<{
      id: string;
      keySha256: string;
      scopes: string[];
    }>;
    expect(clientKeys).toEqual([
      {
        id: 'demo-app',
        keySha256: sha256Hex(DEMO_CLIENT_KEY),
        scopes: [...SCOPES],
      },
    ]);
  });

  it('points the service at the stand-in with the demo Superfone key', () => {
    expect(demoEnv.SUPERFONE_API_KEY).toBe(DEMO_SUPERFONE_KEY);
    expect(demoEnv.SUPERFONE_BASE_URL).toBe(
      `http://superfone-stand-in:${standIn.environment?.STAND_IN_PORT}/superfone`,
    );
  });
});

/** `docker-compose` (v1) or `docker compose` (v2), whichever answers. */
function findComposeCli(): string[] | undefined {
  for (const argv of [['docker-compose'], ['docker', 'compose']]) {
    const probe = spawnSync(argv[0], [...argv.slice(1), 'version'], { encoding: 'utf8' });
    if (probe.status === 0) return argv;
  }
  return undefined;
}

const cli = findComposeCli();

/** Runs the CLI from the repository root with exactly the given variables (plus PATH and HOME). */
function runCompose(args: string[], vars: Record<string, string> = {}) {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...vars };
  if (!cli) throw new Error('runCompose: no Compose CLI on PATH');
  const [command, ...prefix] = cli;
  return spawnSync(command, [...prefix, ...args], { cwd: ROOT, env, encoding: 'utf8' });
}

// Without a Compose CLI these are reported as skipped (the YAML-level checks above still run).
(cli ? describe : describe.skip)(
  `Compose CLI resolves the setups (${cli ? cli.join(' ') : 'absent: skipped'})`,
  () => {
    // An empty env file instead of ./.env: a developer's own .env must not change what these tests see.
    let scratch: string;
    let emptyEnvFile: string;
    let defaultArgs: string[];
    beforeAll(() => {
      scratch = mkdtempSync(join(tmpdir(), 'compose-spec-'));
      emptyEnvFile = join(scratch, 'empty.env');
      writeFileSync(emptyEnvFile, '');
      defaultArgs = ['--env-file', emptyEnvFile, '-f', 'docker-compose.yml', 'config', '-q'];
    });
    afterAll(() => {
      rmSync(scratch, { recursive: true, force: true });
    });

    it('default setup: valid with the two required variables set', () => {
      const result = runCompose(defaultArgs, {
        SUPERFONE_API_KEY: 'placeholder-superfone-key',
        CLIENT_KEYS: '[]',
      });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    });

    it('default setup: refuses to start without SUPERFONE_API_KEY, naming it', () => {
      const result = runCompose(defaultArgs, { CLIENT_KEYS: '[]' });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('set SUPERFONE_API_KEY');
    });

    it('demo setup: valid, and the resolved CLIENT_KEYS is the JSON the service expects', () => {
      const demoArgs = [
        '--env-file',
        DEMO_ENV_FILE,
        '--profile',
        'demo',
        '-f',
        'docker-compose.yml',
        'config',
      ];
      const check = runCompose([...demoArgs, '-q']);
      expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });

      const resolved = parse(runCompose(demoArgs).stdout) as { services: Record<string, Service> };
      const env = defined(
        resolved.services['superfone-bff'].environment,
        'the resolved superfone-bff environment',
      );
      expect(JSON.parse(env.CLIENT_KEYS)).toEqual(JSON.parse(demoEnv.CLIENT_KEYS));
      expect(env.SUPERFONE_API_KEY).toBe(DEMO_SUPERFONE_KEY);
      expect(resolved.services['superfone-stand-in'].environment?.SUPERFONE_API_KEY).toBe(
        DEMO_SUPERFONE_KEY,
      );
    });

    it('sentinel setup: valid, and the sentinel script keeps its own variable', () => {
      const vars = { SUPERFONE_API_KEY: 'placeholder-superfone-key', CLIENT_KEYS: '[]' };
      const sentinelArgs = [
        '--env-file',
        emptyEnvFile,
        '--profile',
        'sentinel',
        '-f',
        'docker-compose.yml',
        'config',
      ];
      const check = runCompose([...sentinelArgs, '-q'], vars);
      expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });

      // SENTINEL_ANNOUNCE_HOST is for sh, not Compose: written $$ in the file, so Compose does not blank it
      // (`config` prints it escaped again).
      const resolved = parse(runCompose(sentinelArgs, vars).stdout) as {
        services: Record<string, Service>;
      };
      expect(resolved.services['sentinel-2'].command?.[2]).toMatch(
        /sentinel announce-ip \$\$?SENTINEL_ANNOUNCE_HOST$/m,
      );
      expect(resolved.services['superfone-bff-sentinel'].environment?.REDIS_SENTINELS).toBe(
        'sentinel-1:26379,sentinel-2:26379,sentinel-3:26379',
      );
    });
  },
);
