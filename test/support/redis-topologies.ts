import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isError } from './errors';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from '../../tools/free-port';

/**
 * Real Redis topologies for end-to-end tests: a standalone node (optionally TLS and an ACL user),
 * a sentinel group (master, replica, 3 sentinels) and a cluster (3 masters, 3 replicas), all
 * started from the machine's redis-server and owned by the test run.
 *
 * Every process started here is tracked in one module-level set: a topology's stop() kills its own,
 * stopAllStarted() kills whatever is left (call it in afterAll), a process 'exit' hook SIGKILLs any
 * survivor synchronously (outside jest), and a detached watchdog process does the same once this
 * process is gone in any way (under jest too, where the 'exit' hook never fires). Each process runs
 * in its own temp dir (sentinel rewrites its config file, cluster nodes write nodes.conf) with its
 * output in `<dir>/redis.log`; a wait that times out or gives up prints the tail of the logs of the
 * processes it was about. REDIS_TOPOLOGIES_DEBUG=1 prints each stage and wait as it happens.
 *
 * Timings are short so that tests run fast: sentinel down-after 1 s, failover-timeout 5 s,
 * parallel-syncs 1, quorum 2 of 3; cluster-node-timeout 1.5 s. TLS clients need only the CA
 * (tls-auth-clients no); replicas, sentinels and cluster buses talk TLS too when `tls` is given.
 */

const HOST = '127.0.0.1';
const SENTINEL_TIMINGS = {
  downAfterMs: 1000,
  failoverTimeoutMs: 5000,
  parallelSyncs: 1,
  quorum: 2,
};
const CLUSTER_NODE_TIMEOUT_MS = 1500;

export interface RedisProcess {
  readonly host: string;
  readonly port: number;
  readonly pid: number | undefined;
  /** SIGSTOP: the process keeps its sockets but answers nothing. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL (after a SIGCONT, in case it is paused); resolves once it has exited. */
  kill(): Promise<void>;
}

export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  dir: string;
}

/** An ACL user defined in the server config: `user <name> on #<sha256(password)> <rules>`. */
export interface AclUser {
  name: string;
  password: string;
  /** ACL rules, e.g. '~superfone-bff* &* +get +set +ping'. */
  rules: string;
}

export interface RedisNode extends RedisProcess {
  /** redis://127.0.0.1:port, or rediss:// with TLS; no credentials in it. */
  readonly url: string;
  /** kill() and remove its temp dir. */
  stop(): Promise<void>;
}

export interface SentinelGroup {
  /** 'mymaster' */
  readonly masterName: string;
  /** 3 sentinels (quorum 2). */
  readonly sentinels: readonly RedisProcess[];
  /** [initial master, initial replica]. */
  readonly nodes: readonly RedisProcess[];
  /** The master as a sentinel reports it (SENTINEL GET-MASTER-ADDR-BY-NAME). */
  currentMaster(): Promise<{ host: string; port: number }>;
  /**
   * SENTINEL FAILOVER; resolves with the new master once all 3 sentinels report it, it answers
   * ROLE master, and the old master is its connected replica.
   */
  failover(): Promise<{ host: string; port: number }>;
  /** SIGKILLs the master; resolves once all 3 sentinels report the promoted replica and it answers ROLE master. */
  killMaster(): Promise<{ host: string; port: number }>;
  stop(): Promise<void>;
}

export interface RedisClusterTopology {
  /** 3 masters + 3 replicas, in start order (which are masters is redis-cli's choice). */
  readonly nodes: readonly RedisProcess[];
  /** 'host:port,host:port,...' of all nodes. */
  readonly seeds: string;
  /**
   * SIGKILLs the master owning `key`'s slot; resolves once its replica answers ROLE master and every
   * surviving node reports cluster_state:ok and that replica as the slot's owner.
   */
  killMasterOf(key: string): Promise<void>;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Availability

const availability = new Map<string, boolean>();
function cached(name: string, check: () => boolean): boolean {
  let value = availability.get(name);
  if (value === undefined) {
    try {
      value = check();
    } catch {
      value = false;
    }
    availability.set(name, value);
  }
  return value;
}

function output(command: string, args: string[]): { status: number | null; text: string } {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: 5000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A command that cannot start has no output at all (stdout and stderr undefined, despite the types).
  if (result.error) return { status: null, text: '' };
  return { status: result.status, text: `${result.stdout}${result.stderr}` };
}

function redisServerPresent(): boolean {
  return cached('redis-server', () => output('redis-server', ['--version']).status === 0);
}

/** redis-server present and it has sentinel mode (`redis-server <conf> --sentinel`; no separate binary needed). */
export function sentinelAvailable(): boolean {
  // Without a config file, sentinel mode refuses to start with a message naming Sentinel.
  return (
    redisServerPresent() &&
    cached('sentinel', () => /sentinel/i.test(output('redis-server', ['--sentinel']).text))
  );
}

/** redis-server present and redis-cli has `--cluster create`. */
export function clusterAvailable(): boolean {
  return (
    redisServerPresent() &&
    cached('cluster', () => /create/.test(output('redis-cli', ['--cluster', 'help']).text))
  );
}

/** openssl present and redis-server was built with TLS (it accepts --tls-port). */
export function tlsAvailable(): boolean {
  return (
    redisServerPresent() &&
    cached('tls', () => {
      if (output('openssl', ['version']).status !== 0) return false;
      // Listening nowhere makes it exit at once; a build without TLS rejects the directive first.
      const { text } = output('redis-server', [
        '--port',
        '0',
        '--tls-port',
        '0',
        '--save',
        '',
        '--appendonly',
        'no',
      ]);
      return /not listen anywhere/i.test(text) && !/bad directive|fatal config/i.test(text);
    })
  );
}

// ---------------------------------------------------------------------------------------------
// Process and temp-dir bookkeeping

const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();
const reservedPorts = new Set<number>();

/** SIGCONT + SIGKILL to every child still running and removes the temp dirs, synchronously. */
function killSurvivorsSync(): void {
  for (const child of running) {
    if (child.pid === undefined || exited(child)) continue;
    try {
      process.kill(child.pid, 'SIGCONT');
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}
// Fires when this module runs in a plain node process. Under jest it does not: a test file sees a
// copy of `process` whose 'exit' never fires, hence the watchdog below.
process.on('exit', killSurvivorsSync);

/**
 * A detached node process that learns every pid and temp dir over a pipe and, when the pipe closes
 * (this process ended in any way, even SIGKILL, or jest's worker was torn down), SIGKILLs those
 * still listed and removes the dirs. Detached, so a Ctrl-C to the process group does not end it first.
 */
const WATCHDOG = `
const { rmSync } = require('node:fs');
const pids = new Set(), dirs = new Set();
let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  for (let at; (at = buffer.indexOf('\\n')) >= 0; buffer = buffer.slice(at + 1)) {
    const [op, value] = JSON.parse(buffer.slice(0, at));
    if (op === '+pid') pids.add(value); else if (op === '-pid') pids.delete(value);
    else if (op === '+dir') dirs.add(value); else if (op === '-dir') dirs.delete(value);
  }
});
process.stdin.on('close', () => {
  for (const pid of pids) { try { process.kill(pid, 'SIGCONT'); process.kill(pid, 'SIGKILL'); } catch {} }
  let tries = 0;
  const removeDirs = () => {
    for (const dir of dirs) { try { rmSync(dir, { recursive: true, force: true }); dirs.delete(dir); } catch {} }
    if (dirs.size > 0 && ++tries < 20) setTimeout(removeDirs, 50);
  };
  removeDirs();
});
`;
let watchdog: ChildProcess | undefined;
function tellWatchdog(
  op: '+pid' | '-pid' | '+dir' | '-dir',
  value: number | string | undefined,
): void {
  if (value === undefined) return;
  if (!watchdog) {
    watchdog = spawn(process.execPath, ['-e', WATCHDOG], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    watchdog.on('error', () => undefined);
    watchdog.stdin?.on('error', () => undefined);
    // Neither the watchdog nor its pipe keeps this process (jest) alive.
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }
  watchdog.stdin?.write(`${JSON.stringify([op, value])}\n`);
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function killChild(child: ChildProcess): Promise<void> {
  if (exited(child)) {
    running.delete(child);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    child.once('exit', () => {
      resolve();
    });
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
}

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  tellWatchdog('+pid', child.pid);
  const forget = () => {
    if (running.delete(child)) tellWatchdog('-pid', child.pid);
  };
  child.once('exit', forget);
  child.on('error', forget);
  return child;
}

function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `superfone-bff-${prefix}-`));
  tempDirs.add(dir);
  tellWatchdog('+dir', dir);
  return dir;
}

function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  if (tempDirs.delete(dir)) tellWatchdog('-dir', dir);
}

/** Kills every process this module started and still running, and removes every temp dir it made. */
export async function stopAllStarted(): Promise<void> {
  await Promise.all([...running].map(killChild));
  for (const dir of [...tempDirs]) removeTempDir(dir);
  reservedPorts.clear();
  caCache.clear();
}

// ---------------------------------------------------------------------------------------------
// Ports

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, HOST, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/** A free port not handed out before; with `bus`, below 55000 and with port+10000 free too (the cluster bus). */
async function pickPort(bus: boolean): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await freePort();
    if (reservedPorts.has(port) || (bus && (port >= 55000 || reservedPorts.has(port + 10000))))
      continue;
    // Reserved before the next await, so that concurrent launches never pick the same ports.
    reservedPorts.add(port);
    if (bus) reservedPorts.add(port + 10000);
    if (!bus || (await portIsFree(port + 10000))) return port;
    reservedPorts.delete(port);
    reservedPorts.delete(port + 10000);
  }
  throw new Error(
    `no free port${bus ? ' below 55000 with its cluster bus port (+10000) free' : ''} after 200 tries`,
  );
}

// ---------------------------------------------------------------------------------------------
// Talking to the processes

/** How the harness itself connects to a process. */
interface Access {
  tls?: TlsFiles;
  username?: string;
  password?: string;
}
interface Endpoint {
  host: string;
  port: number;
}

const caCache = new Map<string, Buffer>();
function readCa(tls: TlsFiles): Buffer {
  let ca = caCache.get(tls.caFile);
  if (!ca) caCache.set(tls.caFile, (ca = readFileSync(tls.caFile)));
  return ca;
}

function clientOptions(access: Access, timeoutMs: number): RedisOptions {
  return {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
    enableOfflineQueue: true,
    disableClientInfo: true,
    disconnectTimeout: 200,
    username: access.username,
    password: access.password,
    tls: access.tls ? { ca: readCa(access.tls) } : undefined,
  };
}

/** One command on a short-lived connection, failing within `timeoutMs` (a paused process answers nothing). */
async function command(
  at: Endpoint,
  access: Access,
  args: (string | number)[],
  timeoutMs = 1000,
): Promise<unknown> {
  const client = new Redis({ host: at.host, port: at.port, ...clientOptions(access, timeoutMs) });
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`${at.host}:${at.port} did not answer ${args[0]} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    return await Promise.race([
      (async () => {
        await client.connect();
        return client.call(String(args[0]), ...args.slice(1));
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    // On a stream that already failed, disconnect() would leave a timer behind that keeps jest running.
    if (client.status !== 'end') client.disconnect();
  }
}

/** ROLE: ['master', ...] or ['slave', host, port, state, offset]. */
async function role(
  at: Endpoint,
  access: Access,
): Promise<{ role: string; masterPort?: number; state?: string }> {
  const reply = (await command(at, access, ['ROLE'])) as unknown[];
  return reply[0] === 'slave'
    ? { role: 'slave', masterPort: Number(reply[2]), state: String(reply[3]) }
    : { role: String(reply[0]) };
}

function fields(flat: unknown): Record<string, string> {
  const list = flat as unknown[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[String(list[i])] = String(list[i + 1]);
  return out;
}

function infoFields(text: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of String(text).split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Waiting

/** REDIS_TOPOLOGIES_DEBUG=1 prints how long each stage took. */
function stage(label: string, since: number): void {
  if (process.env.REDIS_TOPOLOGIES_DEBUG)
    process.stderr.write(`[redis-topologies] ${label}: ${Date.now() - since} ms\n`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Thrown by a probe to say what is not there yet (the last such reason is in the timeout error). */
class NotYet extends Error {}
function notYet(reason: string): never {
  throw new NotYet(reason);
}
/** Thrown by a probe when waiting longer cannot help (a process it waits for has exited). */
class GaveUp extends Error {}

function logTail(proc: Proc, lines = 15): string {
  try {
    const text = readFileSync(proc.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    return `\n--- ${proc.name} (${proc.host}:${proc.port}, pid ${proc.pid}${proc.alive ? '' : ', exited'}) ${proc.log}:\n${text}`;
  } catch {
    return `\n--- ${proc.name}: no log at ${proc.log}`;
  }
}

/** Polls `probe` (about every 50 ms) until it returns a value; it may throw (NotYet or any error) to mean "not yet". */
async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T>,
  logsOf: readonly Proc[] = [],
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (reason !== last) stage(`  waiting for ${what}: ${reason}`, deadline - timeoutMs);
      last = reason;
      if (error instanceof GaveUp)
        throw new Error(
          `gave up waiting for ${what}: ${last}${logsOf.map((p) => logTail(p)).join('')}`,
          { cause: error },
        );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last: ${last})` : ''}${logsOf.map((p) => logTail(p)).join('')}`,
      );
    }
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------
// Launching one process

class Proc implements RedisProcess {
  readonly host = HOST;
  constructor(
    readonly name: string,
    readonly port: number,
    readonly dir: string,
    readonly log: string,
    private readonly child: ChildProcess,
    readonly ports: readonly number[],
  ) {}
  get pid(): number | undefined {
    return this.child.pid;
  }
  get alive(): boolean {
    return !exited(this.child);
  }
  pause(): void {
    if (this.alive) this.child.kill('SIGSTOP');
  }
  resume(): void {
    if (this.alive) this.child.kill('SIGCONT');
  }
  async kill(): Promise<void> {
    await killChild(this.child);
  }
  /** kill(), remove the temp dir, give the ports back. */
  async stop(): Promise<void> {
    await this.kill();
    removeTempDir(this.dir);
    for (const port of this.ports) reservedPorts.delete(port);
  }
}

interface LaunchSpec {
  name: string;
  sentinel?: boolean;
  /** Needs port+10000 free (cluster bus). */
  bus?: boolean;
  /** Config file lines for this port, after the common ones. */
  config: (port: number) => string[];
  args?: string[];
  tls?: TlsFiles;
  /** How to PING it once up. */
  access: Access;
}

/** A config value in double quotes when it needs them (redis.conf's sdssplitargs syntax). */
function q(value: string): string {
  return /^[\w.\-/:@+=,]+$/.test(value) ? value : JSON.stringify(value);
}

function tlsLines(tls: TlsFiles | undefined, port: number): string[] {
  if (!tls) return [`port ${port}`];
  return [
    'port 0',
    `tls-port ${port}`,
    `tls-cert-file ${q(tls.certFile)}`,
    `tls-key-file ${q(tls.keyFile)}`,
    `tls-ca-cert-file ${q(tls.caFile)}`,
    // Clients (the app, redis-cli, the harness) present no certificate; the CA check is on their side.
    'tls-auth-clients no',
    'tls-replication yes',
  ];
}

function aclLines(user: AclUser | undefined): string[] {
  if (!user) return [];
  const hash = createHash('sha256').update(user.password).digest('hex');
  return [`user ${user.name} on #${hash} ${user.rules}`];
}

/** Starts one redis-server (or sentinel) in its own temp dir; retries on another port if its port was taken meanwhile. */
async function launch(spec: LaunchSpec): Promise<Proc> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await pickPort(spec.bus ?? false);
    const ports = spec.bus ? [port, port + 10000] : [port];
    const dir = makeTempDir(spec.name);
    const log = join(dir, 'redis.log');
    const conf = join(dir, spec.sentinel ? 'sentinel.conf' : 'redis.conf');
    const lines = [
      `bind ${HOST}`,
      ...tlsLines(spec.tls, port),
      `dir ${q(dir)}`,
      'logfile ""',
      'daemonize no',
      // No persistence; a master syncs a new replica at once (the default waits 5 s for more replicas to arrive).
      ...(spec.sentinel ? [] : ['save ""', 'appendonly no', 'repl-diskless-sync-delay 0']),
      ...spec.config(port),
    ];
    writeFileSync(conf, `${lines.join('\n')}\n`);
    const fd = openSync(log, 'a');
    let child: ChildProcess;
    try {
      child = track(
        spawn(
          'redis-server',
          [conf, ...(spec.sentinel ? ['--sentinel'] : []), ...(spec.args ?? [])],
          {
            cwd: dir,
            stdio: ['ignore', fd, fd],
          },
        ),
      );
    } finally {
      closeSync(fd);
    }
    const proc = new Proc(`${spec.name}:${port}`, port, dir, log, child, ports);
    try {
      await waitFor(
        `${proc.name} to answer PING`,
        10_000,
        async () => {
          if (child.pid === undefined) throw new GaveUp('could not spawn redis-server');
          if (!proc.alive)
            throw new GaveUp(`${proc.name} exited (${child.exitCode ?? child.signalCode})`);
          if ((await command(proc, spec.access, ['PING'], 500)) !== 'PONG') notYet('no PONG');
        },
        [proc],
      );
      return proc;
    } catch (error) {
      lastError = error;
      const inUse = /address already in use/i.test(
        existsSync(log) ? readFileSync(log, 'utf8') : '',
      );
      await proc.stop();
      if (!inUse) throw error;
    }
  }
  throw lastError;
}

// ---------------------------------------------------------------------------------------------
// TLS files

function run(command: string, args: string[], cwd: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${out.slice(-3000)}`,
          ),
        );
    });
  });
}

/** A throwaway CA and a server certificate for 127.0.0.1 / localhost (SAN) signed by it, in a temp dir (EC P-256, 2 days). */
export async function makeTlsFiles(): Promise<TlsFiles> {
  const dir = makeTempDir('tls');
  writeFileSync(
    join(dir, 'openssl.cnf'),
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      'CN = superfone-bff test',
      '[ca_ext]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier = hash',
      '[server_ext]',
      'basicConstraints = CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      // clientAuth too: replicas, sentinels and cluster nodes present this certificate when they connect to each other.
      'extendedKeyUsage = serverAuth,clientAuth',
      'subjectAltName = IP:127.0.0.1,DNS:localhost',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  const ec = [
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-config',
    'openssl.cnf',
  ];
  await run(
    'openssl',
    [
      'req',
      '-x509',
      '-new',
      ...ec,
      '-extensions',
      'ca_ext',
      '-days',
      '2',
      '-subj',
      '/CN=superfone-bff test CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  await run(
    'openssl',
    ['req', '-new', ...ec, '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr'],
    dir,
  );
  const serial = `0x${createHash('sha1').update(dir).digest('hex').slice(0, 16)}`;
  await run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      serial,
      '-days',
      '2',
      '-extfile',
      'openssl.cnf',
      '-extensions',
      'server_ext',
      '-out',
      'server.crt',
    ],
    dir,
  );
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
  };
}

// ---------------------------------------------------------------------------------------------
// Standalone node

/**
 * One redis-server on a free port (nothing persisted). `password` is the default user's; `aclUser`
 * is defined besides it (the default user stays passwordless unless `password` is given); `args`
 * are appended to the command line (e.g. ['--maxmemory', '10mb']).
 */
export async function startRedisNode(
  opts: { tls?: TlsFiles; aclUser?: AclUser; password?: string; args?: string[] } = {},
): Promise<RedisNode> {
  const proc = await launch({
    name: 'node',
    tls: opts.tls,
    args: opts.args,
    config: () => [
      ...aclLines(opts.aclUser),
      ...(opts.password ? [`requirepass ${q(opts.password)}`] : []),
    ],
    access: { tls: opts.tls, password: opts.password },
  });
  const url = `${opts.tls ? 'rediss' : 'redis'}://${proc.host}:${proc.port}`;
  return Object.assign(proc, { url });
}

// ---------------------------------------------------------------------------------------------
// Sentinel group

export async function startSentinelGroup(
  opts: { password?: string; sentinelPassword?: string; tls?: TlsFiles; aclUser?: AclUser } = {},
): Promise<SentinelGroup> {
  const masterName = 'mymaster';
  const dataAccess: Access = { tls: opts.tls, password: opts.password };
  const sentinelAccess: Access = { tls: opts.tls, password: opts.sentinelPassword };
  const started: Proc[] = [];
  const dataLines = (): string[] => [
    ...aclLines(opts.aclUser),
    ...(opts.password ? [`requirepass ${q(opts.password)}`, `masterauth ${q(opts.password)}`] : []),
  ];

  const t0 = Date.now();
  try {
    const master = await launch({
      name: 'sentinel-master',
      tls: opts.tls,
      config: dataLines,
      access: dataAccess,
    });
    started.push(master);
    const replica = await launch({
      name: 'sentinel-replica',
      tls: opts.tls,
      config: () => [...dataLines(), `replicaof ${master.host} ${master.port}`],
      access: dataAccess,
    });
    started.push(replica);
    await waitFor(
      `the replica ${replica.port} to sync from the master ${master.port}`,
      10_000,
      async () => {
        const r = await role(replica, dataAccess);
        if (r.role !== 'slave' || r.masterPort !== master.port || r.state !== 'connected')
          notYet(`ROLE ${JSON.stringify(r)}`);
      },
      [master, replica],
    );
    stage('sentinel group: master and synced replica', t0);

    const sentinelConfig = (): string[] => [
      `sentinel monitor ${masterName} ${master.host} ${master.port} ${SENTINEL_TIMINGS.quorum}`,
      `sentinel down-after-milliseconds ${masterName} ${SENTINEL_TIMINGS.downAfterMs}`,
      `sentinel failover-timeout ${masterName} ${SENTINEL_TIMINGS.failoverTimeoutMs}`,
      `sentinel parallel-syncs ${masterName} ${SENTINEL_TIMINGS.parallelSyncs}`,
      ...(opts.password ? [`sentinel auth-pass ${masterName} ${q(opts.password)}`] : []),
      // requirepass guards this sentinel; sentinel-pass is what it sends to the other sentinels.
      ...(opts.sentinelPassword
        ? [
            `requirepass ${q(opts.sentinelPassword)}`,
            `sentinel sentinel-pass ${q(opts.sentinelPassword)}`,
          ]
        : []),
    ];
    const sentinels = await Promise.all(
      [1, 2, 3].map((i) =>
        launch({
          name: `sentinel-${i}`,
          sentinel: true,
          tls: opts.tls,
          config: sentinelConfig,
          access: sentinelAccess,
        }).then((sentinel) => (started.push(sentinel), sentinel)),
      ),
    );
    stage('sentinel group: 3 sentinels answer PING', t0);
    await waitFor(
      'each sentinel to see the master, its replica and the 2 other sentinels',
      15_000,
      async () => {
        for (const sentinel of sentinels) {
          const m = fields(
            await command(sentinel, sentinelAccess, ['SENTINEL', 'MASTER', masterName]),
          );
          if (
            m.flags !== 'master' ||
            Number(m['num-slaves']) < 1 ||
            Number(m['num-other-sentinels']) < 2
          ) {
            notYet(
              `sentinel ${sentinel.port}: flags=${m.flags} num-slaves=${m['num-slaves']} num-other-sentinels=${m['num-other-sentinels']}`,
            );
          }
          await command(sentinel, sentinelAccess, ['SENTINEL', 'CKQUORUM', masterName]);
        }
      },
      sentinels,
    );
    stage('sentinel group: sentinels know each other (ready)', t0);

    return new SentinelGroupImpl(
      masterName,
      sentinels,
      [master, replica],
      dataAccess,
      sentinelAccess,
    );
  } catch (error) {
    await Promise.all(started.map((p) => p.stop()));
    throw error;
  }
}

class SentinelGroupImpl implements SentinelGroup {
  constructor(
    readonly masterName: string,
    readonly sentinels: readonly Proc[],
    readonly nodes: readonly Proc[],
    private readonly dataAccess: Access,
    private readonly sentinelAccess: Access,
  ) {}

  private async masterAccordingTo(sentinel: Proc): Promise<{ host: string; port: number }> {
    const reply = (await command(sentinel, this.sentinelAccess, [
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      this.masterName,
    ])) as string[] | null;
    if (!reply) throw new Error(`sentinel ${sentinel.port} does not know ${this.masterName}`);
    return { host: reply[0], port: Number(reply[1]) };
  }

  async currentMaster(): Promise<{ host: string; port: number }> {
    let lastError: unknown;
    for (const sentinel of this.sentinels) {
      if (!sentinel.alive) continue;
      try {
        return await this.masterAccordingTo(sentinel);
      } catch (error) {
        lastError = error;
      }
    }
    if (isError(lastError)) throw lastError;
    throw new Error(
      lastError === undefined ? 'no sentinel is running' : 'no sentinel named the master',
      { cause: lastError },
    );
  }

  private node(port: number): Proc {
    const node = this.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no node of this group listens on ${port}`);
    return node;
  }

  /** All 3 sentinels report the same master other than `old`, and it answers ROLE master. */
  private async promoted(
    old: { port: number },
    what: string,
  ): Promise<{ host: string; port: number }> {
    // One failed election costs 2 × failover-timeout (10 s) before the sentinels try again.
    return waitFor(
      what,
      25_000,
      async () => {
        const seen = await Promise.all(this.sentinels.map((s) => this.masterAccordingTo(s)));
        const ports = [...new Set(seen.map((m) => m.port))];
        if (ports.length !== 1 || ports[0] === old.port)
          notYet(`sentinels report ${seen.map((m) => m.port).join(', ')}`);
        const r = await role(this.node(ports[0]), this.dataAccess);
        if (r.role !== 'master') notYet(`${ports[0]} answers ROLE ${r.role}`);
        return seen[0];
      },
      [...this.sentinels, ...this.nodes],
    );
  }

  async failover(): Promise<{ host: string; port: number }> {
    const old = await this.currentMaster();
    // Refused with INPROG or NOGOODSLAVE while a previous change is still settling: retried.
    await waitFor(
      'SENTINEL FAILOVER to be accepted',
      15_000,
      async () => {
        const sentinel = this.sentinels.find((s) => s.alive);
        if (!sentinel) throw new Error('no sentinel is running');
        await command(sentinel, this.sentinelAccess, ['SENTINEL', 'FAILOVER', this.masterName]);
      },
      this.sentinels,
    );
    const next = await this.promoted(
      old,
      `the sentinels to promote a replica of ${old.port} (SENTINEL FAILOVER)`,
    );
    const demoted = this.node(old.port);
    // The sentinels turn the old master into a replica only once it has reported ROLE master for 4 of
    // their 2 s publish periods and they polled its INFO again (every 10 s): 10-16 s here. They would
    // send this same REPLICAOF; sending it now saves that wait (theirs is then a no-op).
    if ((await role(demoted, this.dataAccess)).role === 'master') {
      await command(demoted, this.dataAccess, ['REPLICAOF', next.host, next.port]);
    }
    await waitFor(
      `the old master ${old.port} to become a connected replica of ${next.port}`,
      20_000,
      async () => {
        const r = await role(demoted, this.dataAccess);
        if (r.role !== 'slave' || r.masterPort !== next.port || r.state !== 'connected')
          notYet(`ROLE ${JSON.stringify(r)}`);
      },
      [...this.sentinels, ...this.nodes],
    );
    return next;
  }

  async killMaster(): Promise<{ host: string; port: number }> {
    const old = await this.currentMaster();
    await this.node(old.port).kill();
    return this.promoted(
      old,
      `the sentinels to promote a replica after SIGKILL of the master ${old.port}`,
    );
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.nodes].map((p) => p.stop()));
  }
}

// ---------------------------------------------------------------------------------------------
// Cluster

export async function startCluster(
  opts: { password?: string; tls?: TlsFiles; aclUser?: AclUser } = {},
): Promise<RedisClusterTopology> {
  const access: Access = { tls: opts.tls, password: opts.password };
  const nodes: Proc[] = [];
  const t0 = Date.now();
  try {
    const started = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        launch({
          name: `cluster-${i + 1}`,
          bus: true,
          tls: opts.tls,
          access,
          config: () => [
            'cluster-enabled yes',
            'cluster-config-file nodes.conf',
            `cluster-node-timeout ${CLUSTER_NODE_TIMEOUT_MS}`,
            // A replica may always take over, however long since it last heard from its master.
            'cluster-replica-validity-factor 0',
            // CLUSTER SLOTS (what clients read) lists a replica only once its replication offset is past 0,
            // and with no writes only the master's replication PINGs move it: every 1 s instead of 10 s.
            'repl-ping-replica-period 1',
            ...(opts.tls ? ['tls-cluster yes'] : []),
            ...aclLines(opts.aclUser),
            ...(opts.password
              ? [`requirepass ${q(opts.password)}`, `masterauth ${q(opts.password)}`]
              : []),
          ],
        }).then((proc) => (nodes.push(proc), proc)),
      ),
    );
    stage('cluster: 6 nodes answer PING', t0);
    const cli = [
      ...(opts.password ? ['-a', opts.password, '--no-auth-warning'] : []),
      ...(opts.tls ? ['--tls', '--cacert', opts.tls.caFile] : []),
    ];
    await run(
      'redis-cli',
      [
        ...cli,
        '--cluster',
        'create',
        ...started.map((n) => `${n.host}:${n.port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ],
      started[0].dir,
      60_000,
    );
    stage('cluster: redis-cli --cluster create done', t0);
    await waitFor(
      'every cluster node to report cluster_state:ok, 6 known nodes, and 3 masters with a synced replica each',
      30_000,
      async () => {
        let masters = 0;
        for (const node of started) {
          const info = infoFields(await command(node, access, ['CLUSTER', 'INFO']));
          if (info.cluster_state !== 'ok' || info.cluster_known_nodes !== '6') {
            notYet(
              `${node.port}: cluster_state=${info.cluster_state} cluster_known_nodes=${info.cluster_known_nodes}`,
            );
          }
          const r = await role(node, access);
          if (r.role === 'master') masters++;
          else if (r.state !== 'connected') notYet(`replica ${node.port} is ${r.state}`);
          // What clients see: every slot range has a master and a replica.
          const ranges = (await command(node, access, ['CLUSTER', 'SLOTS'])) as unknown[][];
          const covered = ranges.reduce(
            (sum, range) => sum + Number(range[1]) - Number(range[0]) + 1,
            0,
          );
          const bare = ranges.filter((range) => range.length < 4).length;
          if (covered !== 16384 || bare > 0)
            notYet(
              `${node.port}: CLUSTER SLOTS covers ${covered} slots, ${bare} ranges without a replica`,
            );
        }
        if (masters !== 3) notYet(`${masters} masters`);
      },
      started,
    );
    stage('cluster: ready', t0);
    return new ClusterImpl(started, access);
  } catch (error) {
    await Promise.all(nodes.map((p) => p.stop()));
    throw error;
  }
}

class ClusterImpl implements RedisClusterTopology {
  readonly seeds: string;
  constructor(
    readonly nodes: readonly Proc[],
    private readonly access: Access,
  ) {
    this.seeds = nodes.map((n) => `${n.host}:${n.port}`).join(',');
  }

  /** [start, end, [host, port, id, ...], ...replicas] of the range holding `slot`, as `at` sees it. */
  private async owner(at: Proc, slot: number): Promise<{ master: number; replicas: number[] }> {
    const ranges = (await command(at, this.access, ['CLUSTER', 'SLOTS'])) as [
      number,
      number,
      ...[string, number, string][],
    ][];
    const range = ranges.find(([start, end]) => start <= slot && slot <= end);
    if (!range) notYet(`${at.port} has no owner for slot ${slot}`);
    const [, , master, ...replicas] = range;
    return { master: master[1], replicas: replicas.map((r) => r[1]) };
  }

  async killMasterOf(key: string): Promise<void> {
    const alive = this.nodes.filter((n) => n.alive);
    const slot = Number(await command(alive[0], this.access, ['CLUSTER', 'KEYSLOT', key]));
    const { master, replicas } = await this.owner(alive[0], slot);
    if (replicas.length === 0)
      throw new Error(`the master ${master} of slot ${slot} has no replica to take over`);
    const victim = this.nodes.find((n) => n.port === master);
    if (!victim) throw new Error(`no node of this cluster listens on ${master}`);
    await victim.kill();
    const survivors = this.nodes.filter((n) => n.alive);
    await waitFor(
      `a replica (${replicas.join(', ')}) to take over slot ${slot} from the killed master ${master} with cluster_state:ok everywhere`,
      25_000,
      async () => {
        for (const node of survivors) {
          const info = infoFields(await command(node, this.access, ['CLUSTER', 'INFO']));
          if (info.cluster_state !== 'ok')
            notYet(`${node.port}: cluster_state=${info.cluster_state}`);
          const owner = await this.owner(node, slot);
          if (!replicas.includes(owner.master))
            notYet(`${node.port} says slot ${slot} is on ${owner.master}`);
          const promoted = survivors.find((n) => n.port === owner.master);
          if (!promoted || (await role(promoted, this.access)).role !== 'master')
            notYet(`${owner.master} is not ROLE master yet`);
        }
      },
      this.nodes,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((p) => p.stop()));
  }
}
