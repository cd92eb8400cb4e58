/**
 * Checks docker-compose.yml and the demo env file at the YAML level, and, when a Compose CLI is on
 * PATH, has it resolve the default and demo setups (`config -q`). Nothing is built or started.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseDocument } from 'yaml';

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
  it('parses cleanly and defines the service, Redis and the stand-in', () => {
    expect(parseDocument(composeText).errors).toEqual([]);
    expect(Object.keys(services).sort()).toEqual(['redis', 'superfone-bff', 'superfone-stand-in']);
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

  it.each(['superfone-bff', 'redis', 'superfone-stand-in'])('%s is locked down: no capabilities, no new privileges, read-only with /tmp', (name) => {
    const s = services[name];
    expect(s.cap_drop).toEqual(['ALL']);
    expect(s.security_opt).toEqual(['no-new-privileges:true']);
    expect(s.read_only).toBe(true);
    expect(s.tmpfs).toContain('/tmp');
  });

  it('gives the service time to drain on stop (SHUTDOWN_DELAY_MS 5 s + SHUTDOWN_TIMEOUT_MS 20 s)', () => {
    expect(seconds(bff.stop_grace_period ?? '')).toBeGreaterThan(25);
  });
});

describe(DEMO_ENV_FILE, () => {
  it('admits the demo client key: its keySha256 is the SHA-256 of that key', () => {
    const clientKeys = JSON.parse(demoEnv.CLIENT_KEYS) as Array<{ id: string; keySha256: string; scopes: string[] }>;
    expect(clientKeys).toEqual([
      { id: 'demo-app', keySha256: sha256Hex(DEMO_CLIENT_KEY), scopes: ['numbers:read', 'numbers:refresh'] },
    ]);
  });

  it('points the service at the stand-in with the demo Superfone key', () => {
    expect(demoEnv.SUPERFONE_API_KEY).toBe(DEMO_SUPERFONE_KEY);
    expect(demoEnv.SUPERFONE_BASE_URL).toBe(`http://superfone-stand-in:${standIn.environment?.STAND_IN_PORT}/superfone`);
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
  return spawnSync(cli![0], [...cli!.slice(1), ...args], { cwd: ROOT, env, encoding: 'utf8' });
}

// Without a Compose CLI these are not registered (the YAML-level checks above still run).
describe(`Compose CLI resolves the setups (${cli ? cli.join(' ') : 'absent: not run'})`, () => {
  if (!cli) {
    it('has no Compose CLI on PATH, so only the YAML-level checks ran', () => expect(cli).toBeUndefined());
    return;
  }

  // An empty env file instead of ./.env: a developer's own .env must not change what these tests see.
  const scratch = mkdtempSync(join(tmpdir(), 'compose-spec-'));
  const emptyEnvFile = join(scratch, 'empty.env');
  writeFileSync(emptyEnvFile, '');
  const defaultArgs = ['--env-file', emptyEnvFile, '-f', 'docker-compose.yml', 'config', '-q'];
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

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
    const demoArgs = ['--env-file', DEMO_ENV_FILE, '--profile', 'demo', '-f', 'docker-compose.yml', 'config'];
    const check = runCompose([...demoArgs, '-q']);
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });

    const resolved = parse(runCompose(demoArgs).stdout) as { services: Record<string, Service> };
    const env = resolved.services['superfone-bff'].environment!;
    expect(JSON.parse(env.CLIENT_KEYS)).toEqual(JSON.parse(demoEnv.CLIENT_KEYS));
    expect(env.SUPERFONE_API_KEY).toBe(DEMO_SUPERFONE_KEY);
    expect(resolved.services['superfone-stand-in'].environment?.SUPERFONE_API_KEY).toBe(DEMO_SUPERFONE_KEY);
  });
});
