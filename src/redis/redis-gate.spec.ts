import {
  PAUSE_AFTER_TIMEOUTS_MS,
  RedisGate,
  RedisTimeoutError,
  RedisUnavailableError,
} from './redis-gate';
import { createRedisClient, type RedisClient } from './redis-client.factory';
import { fakeClockDeadline } from '../../test/support/fake-clock';
import { testRedisUrl } from '../../test/support/test-app';

const TIMEOUT_MS = 50;
/** Where a deadline's verdict lands on the fake clock (see fakeClockDeadline). */
const DEADLINE_MS = fakeClockDeadline(TIMEOUT_MS);

/** A command that answers after `ms` (never, when undefined), counting its calls. */
function command(ms: number | undefined, reply: unknown = 'OK') {
  const fn = jest.fn(
    () =>
      new Promise((resolve) =>
        ms === undefined
          ? undefined
          : setTimeout(() => {
              resolve(reply);
            }, ms),
      ),
  );
  return fn;
}

describe(RedisGate.name, () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  async function settle<T>(
    promise: Promise<T>,
    advanceMs: number,
  ): Promise<{ value?: T; error?: unknown; at: number }> {
    const out: { value?: T; error?: unknown; at: number } = { at: -1 };
    promise.then(
      (value) => Object.assign(out, { value, at: Date.now() }),
      (error: unknown) => Object.assign(out, { error, at: Date.now() }),
    );
    await jest.advanceTimersByTimeAsync(advanceMs);
    return out;
  }

  it('answers within the deadline without a retry', async () => {
    const gate = new RedisGate(TIMEOUT_MS);
    const cmd = command(10);

    expect(await settle(gate.run(cmd), 100)).toEqual({ value: 'OK', at: 10 });
    expect(cmd).toHaveBeenCalledTimes(1);
  });

  it('retries a timeout once, after a short pause, so a caller waits about twice the deadline', async () => {
    const gate = new RedisGate(TIMEOUT_MS);
    const cmd = jest
      .fn()
      .mockImplementationOnce(command(undefined))
      .mockImplementationOnce(command(5));

    const result = await settle(gate.run(cmd), 200);

    expect(result).toEqual({ value: 'OK', at: DEADLINE_MS + TIMEOUT_MS / 5 + 5 });
    expect(cmd).toHaveBeenCalledTimes(2);
    expect(gate.paused).toBe(false);
  });

  it('does not retry an error Redis answered with, nor pause', async () => {
    const gate = new RedisGate(TIMEOUT_MS);
    const cmd = jest.fn(() =>
      Promise.reject(new Error("READONLY You can't write against a read only replica.")),
    );

    const result = await settle(gate.run(cmd), 10);

    expect((result.error as Error).message).toMatch(/^READONLY/);
    expect(cmd).toHaveBeenCalledTimes(1);
    expect(gate.paused).toBe(false);
  });

  it('does not retry a command that must not run twice', async () => {
    const gate = new RedisGate(TIMEOUT_MS);
    const cmd = command(undefined);

    const result = await settle(gate.run(cmd, false), 200);

    expect(result.error).toBeInstanceOf(RedisTimeoutError);
    expect(result.at).toBe(DEADLINE_MS);
    expect(cmd).toHaveBeenCalledTimes(1);
    // One late reply is not a hung Redis: the next command is sent.
    expect(gate.paused).toBe(false);
    const next = command(1);
    expect((await settle(gate.run(next), 10)).value).toBe('OK');
  });

  it('after a timed-out retry, refuses every command without sending it, then lets one probe through', async () => {
    const gate = new RedisGate(TIMEOUT_MS);
    const hung = command(undefined);

    const first = await settle(gate.run(hung), 200);
    expect(first.error).toBeInstanceOf(RedisTimeoutError);
    expect(first.at).toBe(2 * DEADLINE_MS + TIMEOUT_MS / 5);
    expect(gate.paused).toBe(true);

    const refused = command(1);
    const during = await settle(gate.run(refused), 0);
    expect(during.error).toBeInstanceOf(RedisUnavailableError);
    expect(refused).not.toHaveBeenCalled();

    jest.setSystemTime(first.at + PAUSE_AFTER_TIMEOUTS_MS);
    const probe = command(10);
    const probing = settle(gate.run(probe), 0);
    const alongside = command(1);
    expect((await settle(gate.run(alongside), 0)).error).toBeInstanceOf(RedisUnavailableError);
    expect(alongside).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(10);
    expect((await probing).value).toBe('OK');
    expect(gate.paused).toBe(false);
  });

  it('a probe that times out pauses again without a retry', async () => {
    const gate = new RedisGate(TIMEOUT_MS);
    await settle(gate.run(command(undefined)), 200);
    jest.advanceTimersByTime(PAUSE_AFTER_TIMEOUTS_MS);
    const probe = command(undefined);

    const result = await settle(gate.run(probe), 200);

    expect(result.error).toBeInstanceOf(RedisTimeoutError);
    expect(probe).toHaveBeenCalledTimes(1);
    expect(gate.paused).toBe(true);
  });
  it('treats ioredis\' own "Command timed out" like its deadline: retried once, then a pause', async () => {
    const gate = new RedisGate(TIMEOUT_MS);
    const cmd = jest.fn(() => Promise.reject(new Error('Command timed out')));

    const result = await settle(gate.run(cmd), 200);

    expect((result.error as Error).message).toBe('Command timed out');
    expect(cmd).toHaveBeenCalledTimes(2);
    expect(gate.paused).toBe(true);
  });

  it('is paused only until the pause ends and while the one probe is in flight', async () => {
    const gate = new RedisGate(TIMEOUT_MS);
    expect(gate.paused).toBe(false);
    const first = await settle(gate.run(command(undefined)), 200);
    expect(gate.paused).toBe(true);

    jest.setSystemTime(first.at + PAUSE_AFTER_TIMEOUTS_MS - 1);
    expect(gate.paused).toBe(true);
    jest.setSystemTime(first.at + PAUSE_AFTER_TIMEOUTS_MS);
    // Commands would be sent again (the next one as the probe): not paused.
    expect(gate.paused).toBe(false);
    const probing = settle(gate.run(command(10)), 0);
    expect(gate.paused).toBe(true);
    await jest.advanceTimersByTimeAsync(10);
    expect((await probing).value).toBe('OK');
    expect(gate.paused).toBe(false);
  });

  it("does not retry a timed-out command once another command's retry has paused Redis meanwhile", async () => {
    const gate = new RedisGate(TIMEOUT_MS);
    const earlier = settle(gate.run(command(undefined)), 0);
    // Sent just before the earlier command's retry times out; its own retry would fall into the pause.
    await jest.advanceTimersByTimeAsync(2 * TIMEOUT_MS + TIMEOUT_MS / 5 - 5);
    const later = command(undefined);

    const result = await settle(gate.run(later), 200);

    expect((await earlier).error).toBeInstanceOf(RedisTimeoutError);
    expect(result.error).toBeInstanceOf(RedisTimeoutError);
    expect(later).toHaveBeenCalledTimes(1);
  });

  it('a probe answered with an error ends the pause: Redis is alive, and commands flow again', async () => {
    const gate = new RedisGate(TIMEOUT_MS);
    const first = await settle(gate.run(command(undefined)), 200);
    jest.setSystemTime(first.at + PAUSE_AFTER_TIMEOUTS_MS);

    const probe = await settle(
      gate.run(() =>
        Promise.reject(new Error("READONLY You can't write against a read only replica.")),
      ),
      0,
    );
    const a = command(5);
    const b = command(5);
    const both = settle(Promise.all([gate.run(a), gate.run(b)]), 10);

    expect((probe.error as Error).message).toMatch(/^READONLY/);
    expect(gate.paused).toBe(false);
    expect((await both).value).toEqual(['OK', 'OK']);
  });

  it('pauses again after a second hang, and probes again after that pause', async () => {
    const gate = new RedisGate(TIMEOUT_MS);
    const first = await settle(gate.run(command(undefined)), 200);
    jest.setSystemTime(first.at + PAUSE_AFTER_TIMEOUTS_MS);
    expect((await settle(gate.run(command(1)), 1)).value).toBe('OK');

    const second = await settle(gate.run(command(undefined)), 200);
    expect(gate.paused).toBe(true);
    jest.setSystemTime(second.at + PAUSE_AFTER_TIMEOUTS_MS);
    const probe = command(1);

    expect((await settle(gate.run(probe), 1)).value).toBe('OK');
    expect(probe).toHaveBeenCalledTimes(1);
  });

  it('leaves no deadline timer behind once a command has answered', async () => {
    const gate = new RedisGate(TIMEOUT_MS);

    await settle(gate.run(command(1)), 1);

    expect(jest.getTimerCount()).toBe(0);
  });
  it('a command already in flight that fails after Redis was paused does not end the pause', async () => {
    const gate = new RedisGate(TIMEOUT_MS);
    const hung = settle(gate.run(command(undefined)), 0);
    await jest.advanceTimersByTimeAsync(70);
    // Sent before the pause (no retry for it), times out after the other command's retry paused Redis.
    const inFlight = settle(gate.run(command(undefined), false), 0);

    await jest.advanceTimersByTimeAsync(60);

    expect((await hung).error).toBeInstanceOf(RedisTimeoutError);
    expect((await inFlight).error).toBeInstanceOf(RedisTimeoutError);
    expect(gate.paused).toBe(true);
  });
});

/**
 * Real timers, a real Redis and the client settings the service uses: what the fake clock above
 * cannot show is the order Node runs things in. Due timers run before the loop reads its sockets,
 * so a process kept busy past the deadline (a burst of requests) finds its timer due and the reply
 * already waiting, both at once.
 */
describe(`${RedisGate.name} on an event loop kept busy past the deadline`, () => {
  let client: RedisClient;

  beforeAll(async () => {
    client = createRedisClient({
      topology: { kind: 'url', url: testRedisUrl() },
      username: undefined,
      password: undefined,
      tls: false,
      tlsCa: undefined,
      keyPrefix: 'unused:',
      commandTimeoutMs: TIMEOUT_MS,
    });
    await client.connect();
  });
  afterAll(() => {
    client.disconnect();
  });

  /** Holds the event loop, as a burst of synchronous request handling does. */
  function keepBusy(ms: number): void {
    const until = performance.now() + ms;
    while (performance.now() < until);
  }

  it('takes the reply that arrived while the loop was busy, without a retry', async () => {
    const gate = new RedisGate(TIMEOUT_MS);
    const ping = jest.fn(() => client.ping());

    const answered = gate.run(ping);
    // Past the gate's deadline, within ioredis' backstop (10 x): Redis answers a PING in well under
    // a millisecond, so the reply is waiting on the socket when the loop comes back.
    keepBusy(5 * TIMEOUT_MS);

    await expect(answered).resolves.toBe('PONG');
    expect(ping).toHaveBeenCalledTimes(1);
  });

  it('still times out a reply that has not arrived when the loop gets to it', async () => {
    const gate = new RedisGate(TIMEOUT_MS);
    // A reply Redis sends only after 500 ms: BLPOP on a list nobody pushes to (it blocks this
    // connection alone, not the Redis other suites share). Its reply would be null, not an error.
    let blocked: Promise<unknown> = Promise.resolve();
    const slow = () =>
      (blocked = client.blpop(`superfone-bff-test:never-pushed:${process.pid}`, 0.5));

    const answered = gate.run(slow, false);
    keepBusy(2 * TIMEOUT_MS);

    await expect(answered).rejects.toBeInstanceOf(RedisTimeoutError);
    // The connection is free again once Redis has answered the BLPOP.
    await blocked.catch(() => undefined);
  });
});
