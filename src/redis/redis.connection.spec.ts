import { expect } from '@jest/globals';
import { Cluster } from 'ioredis';
import { EventEmitter } from 'node:events';
import { sha256 } from '../auth/client-keys';
import { loadConfig } from '../config/load-config';
import { AppLogger } from '../logging/app-logger';
import { SUMMARY_INTERVAL_MS } from '../logging/repeated-warning';
import { Metrics } from '../metrics/metrics';
import { PAUSE_AFTER_TIMEOUTS_MS, RedisUnavailableError } from './redis-gate';
import type { RedisClient } from './redis-client.factory';
import { errorMessage, RedisConnection } from './redis.connection';
import { fakeClockDeadline } from '../../test/support/fake-clock';

/** A parsed pino line. */
type LogLine = { level: number; msg: string; [field: string]: unknown };

const TIMEOUT_MS = 50;

function config(env: Record<string, string> = { REDIS_URL: 'redis://cache.internal:6380' }) {
  return loadConfig({
    SUPERFONE_API_KEY: 'server-key',
    CLIENT_KEYS: JSON.stringify([
      { id: 'a', keySha256: sha256('k').toString('hex'), scopes: ['numbers:read'] },
    ]),
    REDIS_COMMAND_TIMEOUT_MS: String(TIMEOUT_MS),
    REDIS_KEY_PREFIX: 'p:',
    LOG_LEVEL: 'info',
    ...env,
  });
}

/** Just enough of an ioredis client for the connection's own calls. */
class FakeClient extends EventEmitter {
  status = 'ready';
  readonly stored = new Map<string, string>();
  connect = jest.fn(() => Promise.resolve(undefined));
  set = jest.fn((key: string, value: string, ..._expiry: unknown[]) => {
    this.stored.set(key, value);
    return Promise.resolve(undefined);
  });
  get = jest.fn((key: string) => Promise.resolve(this.stored.get(key) ?? null));
  del = jest.fn((key: string) => Promise.resolve(this.stored.delete(key) ? 1 : 0));
  quit = jest.fn(() => Promise.resolve('OK'));
  disconnect = jest.fn(() => undefined);
}

describe(RedisConnection.name, () => {
  let logs: LogLine[];
  let metrics: Metrics;

  beforeEach(() => {
    jest.useFakeTimers({ now: Date.parse('2026-11-28T10:00:00.000Z') });
    logs = [];
    metrics = new Metrics();
  });
  afterEach(() => jest.useRealTimers());

  function connection(client: FakeClient | undefined, c = config()): RedisConnection {
    const logger = new AppLogger(c, {
      write: (line: string) => logs.push(JSON.parse(line) as LogLine),
    });
    return new RedisConnection(client as unknown as RedisClient | undefined, c, metrics, logger);
  }
  async function errorsBy(operation: string): Promise<number> {
    return (
      (await metrics.redisErrors.get()).values.find((v) => v.labels.operation === operation)
        ?.value ?? 0
    );
  }

  it('without a client, refuses commands without counting them as Redis failures', async () => {
    const redis = connection(undefined, config({}));

    await expect(redis.run('cache_read', () => Promise.resolve('never'))).rejects.toBeInstanceOf(
      RedisUnavailableError,
    );

    expect((await metrics.redisErrors.get()).values.every((v) => v.value === 0)).toBe(true);
    expect(redis.isReady).toBe(false);
    expect(redis.isUsable).toBe(false);
  });

  it('counts failed commands by operation', async () => {
    const redis = connection(new FakeClient());
    const refused = () =>
      Promise.reject(
        new Error('WRONGTYPE Operation against a key holding the wrong kind of value'),
      );

    await expect(redis.run('lock', refused)).rejects.toThrow('WRONGTYPE');
    await expect(redis.run('lock', refused)).rejects.toThrow('WRONGTYPE');
    await expect(redis.run('cache_write', refused)).rejects.toThrow('WRONGTYPE');

    expect(await errorsBy('lock')).toBe(2);
    expect(await errorsBy('cache_write')).toBe(1);
  });

  it('is usable only while connected and not paused after timeouts', async () => {
    const client = new FakeClient();
    const redis = connection(client);
    expect(redis.isUsable).toBe(true);

    client.status = 'reconnecting';
    expect(redis.isReady).toBe(false);
    expect(redis.isUsable).toBe(false);

    client.status = 'ready';
    const hung = redis
      .run('cache_read', () => new Promise(() => undefined))
      .catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(2 * fakeClockDeadline(TIMEOUT_MS) + TIMEOUT_MS / 5);
    expect(await hung).toBeInstanceOf(Error);
    expect(redis.isReady).toBe(true);
    expect(redis.isUsable).toBe(false);
    await jest.advanceTimersByTimeAsync(PAUSE_AFTER_TIMEOUTS_MS);
    expect(redis.isUsable).toBe(true);
  });

  it('a command that works again after failures closes the episode with an info line', async () => {
    const redis = connection(new FakeClient());

    await expect(
      redis.run('cache_read', () =>
        Promise.reject(new Error('LOADING Redis is loading the dataset in memory')),
      ),
    ).rejects.toThrow();
    await redis.run('cache_read', () => Promise.resolve('OK'));
    await jest.advanceTimersByTimeAsync(SUMMARY_INTERVAL_MS);

    expect(logs.map((l) => [l.level, l.msg])).toEqual([
      [40, 'redis command failed'],
      [30, 'redis commands work again'],
    ]);
  });

  it('connection errors are one warning per episode, and the reconnect closes it', async () => {
    const client = new FakeClient();
    connection(client);

    client.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6380'));
    client.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6380'));
    client.emit('ready');
    await jest.advanceTimersByTimeAsync(SUMMARY_INTERVAL_MS);

    expect(logs).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'redis connection error',
        redisHost: 'cache.internal:6380',
        err: 'connect ECONNREFUSED 127.0.0.1:6380',
      }),
      expect.objectContaining({
        level: 30,
        msg: 'redis connection ready',
        redisHost: 'cache.internal:6380',
        repeated: 2,
      }),
    ]);
  });

  describe('at boot', () => {
    it('without Redis, says so once and tries nothing', async () => {
      await connection(undefined, config({})).onModuleInit();

      expect(logs).toEqual([
        expect.objectContaining({
          level: 30,
          msg: expect.stringContaining('no Redis is configured'),
        }),
      ]);
    });

    it('proves Redis with a write and a read of a probe key under the prefix, then removes it', async () => {
      const client = new FakeClient();

      await connection(client).onModuleInit();

      expect(client.connect).toHaveBeenCalledTimes(1);
      expect(client.set).toHaveBeenCalledWith(
        expect.stringMatching(/^p:boot-probe:/),
        'ok',
        'PX',
        10000,
      );
      expect(client.get).toHaveBeenCalledWith(client.set.mock.calls[0][0]);
      expect(client.stored.size).toBe(0);
      expect(logs).toEqual([
        expect.objectContaining({ level: 30, redisHost: 'cache.internal:6380' }),
      ]);
      // The boot deadline's timer is cleared, not left to hold the event loop.
      expect(jest.getTimerCount()).toBe(0);
    });

    it('a cluster client connects to every master at boot (not on the first request)', async () => {
      const client = new Cluster([{ host: 'n1', port: 7000 }], { lazyConnect: true });
      const fake = new FakeClient();
      const masters = [
        { ping: jest.fn(() => Promise.resolve('PONG')) },
        { ping: jest.fn(() => Promise.resolve('PONG')) },
      ];
      Object.assign(client, { connect: fake.connect, set: fake.set, get: fake.get, del: fake.del });
      const nodes = jest.spyOn(client, 'nodes').mockReturnValue(masters as never);
      const logger = new AppLogger(config(), {
        write: (line: string) => logs.push(JSON.parse(line) as LogLine),
      });

      await new RedisConnection(client, config(), metrics, logger).onModuleInit();

      expect(nodes).toHaveBeenCalledWith('master');
      expect(masters.map((m) => m.ping.mock.calls.length)).toEqual([1, 1]);
      expect(logs).toEqual([expect.objectContaining({ level: 30 })]);
      client.disconnect();
    });

    it('a Redis that reads back something else fails the probe loudly, naming the setting', async () => {
      const client = new FakeClient();
      client.get.mockResolvedValue('not ok');

      await connection(client).onModuleInit();

      expect(logs).toEqual([
        expect.objectContaining({
          level: 50,
          redisHost: 'cache.internal:6380',
          msg: expect.stringContaining('REDIS_URL is set'),
        }),
      ]);
    });

    it('a Redis that never connects fails the probe after the boot deadline, not never', async () => {
      const client = new FakeClient();
      client.connect.mockReturnValue(new Promise(() => undefined));

      const boot = connection(client).onModuleInit();
      await jest.advanceTimersByTimeAsync(2000);
      await boot;

      expect(logs).toEqual([
        expect.objectContaining({ level: 50, err: 'timed out after 2000 ms' }),
      ]);
      expect(client.set).not.toHaveBeenCalled();
    });
  });

  describe('at shutdown', () => {
    it('quits a connected client', async () => {
      const client = new FakeClient();

      await connection(client).onApplicationShutdown();

      expect(client.quit).toHaveBeenCalledTimes(1);
      expect(client.disconnect).not.toHaveBeenCalled();
      // Nothing left to keep the process alive for the QUIT deadline.
      expect(jest.getTimerCount()).toBe(0);
    });

    it('disconnects a client that is not connected at once (no QUIT that nobody would answer)', async () => {
      const client = new FakeClient();
      client.status = 'reconnecting';

      await connection(client).onApplicationShutdown();

      expect(client.quit).not.toHaveBeenCalled();
      expect(client.disconnect).toHaveBeenCalledTimes(1);
    });

    it('disconnects when QUIT is not answered within half a second', async () => {
      const client = new FakeClient();
      client.quit.mockReturnValue(new Promise(() => undefined));

      const shutdown = connection(client).onApplicationShutdown();
      await jest.advanceTimersByTimeAsync(499);
      expect(client.disconnect).not.toHaveBeenCalled();
      await jest.advanceTimersByTimeAsync(1);
      await shutdown;

      expect(client.disconnect).toHaveBeenCalledTimes(1);
    });

    it('leaves an ended client alone', async () => {
      const client = new FakeClient();
      client.status = 'end';

      await connection(client).onApplicationShutdown();

      expect(client.quit).not.toHaveBeenCalled();
      expect(client.disconnect).not.toHaveBeenCalled();
    });
  });

  it('errorMessage: the message of an Error, anything else as text (health reports show it)', () => {
    expect(errorMessage(new Error('Connection is closed.'))).toBe('Connection is closed.');
    expect(errorMessage('plain')).toBe('plain');
  });
});
