/**
 * An in-memory stand-in for the few Redis commands the service sends, for unit tests on jest's
 * fake clock: values expire by Date.now(), the service's Lua scripts are mirrored in TypeScript
 * (their real Lua runs against real Redis in test/redis-scripts.e2e-spec.ts), and a test decides
 * how Redis behaves: answer, hang (the connection stays open, no reply), or answer late.
 */
type Stored = { value: string | Record<string, string>; expiresAt?: number };
type Reply = { resolve: (value: unknown) => void; reject: (error: Error) => void };

export type FakeRedisMode = { kind: 'ok' } | { kind: 'hang' } | { kind: 'late'; delayMs: number };

export class FakeRedis {
  status = 'ready';
  mode: FakeRedisMode = { kind: 'ok' };
  /** Every command received, by name (custom commands under their defined names). */
  readonly sent: string[] = [];
  /** Every command received with its arguments, in order. */
  readonly calls: { name: string; args: unknown[] }[] = [];
  /** Commands answered with an error reply (Redis alive, the command refused), by name. */
  readonly failing = new Set<string>();
  private readonly data = new Map<string, Stored>();
  /** Commands a hung Redis has not answered: what a real client would keep queued. */
  readonly unanswered: Reply[] = [];
  private readonly handlers = new Map<string, (...args: never[]) => unknown>();

  constructor() {
    this.handlers.set('get', (key: string) => this.stringAt(key));
    this.handlers.set('del', (key: string) => (this.data.delete(key) ? 1 : 0));
    this.handlers.set('exists', (key: string) => (this.live(key) ? 1 : 0));
    this.handlers.set('ping', () => 'PONG');
    this.handlers.set(
      'superfoneBffSetUnlessNewer',
      (key: string, value: string, ttlMs: number | string) => {
        const stored = this.live(key);
        if (
          stored &&
          typeof stored.value === 'string' &&
          fetchedAt(stored.value) > fetchedAt(value)
        )
          return 0;
        this.data.set(key, { value, expiresAt: Date.now() + Number(ttlMs) });
        return 1;
      },
    );
    this.handlers.set(
      'superfoneBffAcquireLock',
      (key: string, token: string, ttlMs: number | string, ...leftovers: string[]) => {
        const stored = this.live(key);
        if (!stored || (typeof stored.value === 'string' && leftovers.includes(stored.value))) {
          this.data.set(key, { value: token, expiresAt: Date.now() + Number(ttlMs) });
          return 1;
        }
        if (typeof stored.value !== 'string' || stored.expiresAt === undefined) return -1;
        return stored.value === token ? 1 : 0;
      },
    );
    this.handlers.set('superfoneBffReleaseLock', (key: string, token: string) =>
      this.stringAt(key) === token && this.data.delete(key) ? 1 : 0,
    );
    this.handlers.set(
      'superfoneBffIdempotencyClaim',
      (key: string, running: string, ttlMs: number | string) => {
        const existing = this.stringAt(key);
        if (existing !== null) return existing;
        this.data.set(key, { value: running, expiresAt: Date.now() + Number(ttlMs) });
        return null;
      },
    );
    this.handlers.set(
      'superfoneBffIdempotencyComplete',
      (key: string, running: string, done: string, ttlMs: number | string) => {
        const current = this.stringAt(key);
        if (current !== null && current !== running && current !== done) return 0;
        this.data.set(key, { value: done, expiresAt: Date.now() + Number(ttlMs) });
        return 1;
      },
    );
    this.handlers.set('superfoneBffIdempotencyRelease', (key: string, running: string) =>
      this.stringAt(key) === running && this.data.delete(key) ? 1 : 0,
    );
  }

  defineCommand(): void {
    // The scripts are mirrored above.
  }

  on(): this {
    return this;
  }

  /** Puts a value as another program might: a hash, or a string without expiry. */
  putForeign(key: string, value: string | Record<string, string>): void {
    this.data.set(key, { value });
  }

  raw(key: string): string | Record<string, string> | undefined {
    return this.live(key)?.value;
  }

  /** Answers everything a hung Redis held back, the way a resumed server would. */
  resume(): void {
    this.mode = { kind: 'ok' };
    for (const reply of this.unanswered.splice(0)) reply.resolve(undefined);
  }

  private live(key: string): Stored | undefined {
    const stored = this.data.get(key);
    if (stored?.expiresAt !== undefined && stored.expiresAt <= Date.now()) {
      this.data.delete(key);
      return undefined;
    }
    return stored;
  }

  private stringAt(key: string): string | null {
    const stored = this.live(key);
    if (stored === undefined) return null;
    if (typeof stored.value !== 'string')
      throw new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
    return stored.value;
  }

  /** Every command goes through here: `client.get(...)`, `client.superfoneBffAcquireLock(...)`. */
  private command(name: string, args: unknown[]): Promise<unknown> {
    this.sent.push(name);
    this.calls.push({ name, args });
    const handler = this.handlers.get(name);
    if (!handler) return Promise.reject(new Error(`ERR unknown command '${name}'`));
    if (this.failing.has(name)) return Promise.reject(new Error(`ERR ${name} refused by the test`));
    const mode = this.mode;
    return new Promise((resolve, reject) => {
      const answer = () => {
        try {
          resolve(handler(...(args as never[])));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      };
      if (mode.kind === 'hang') this.unanswered.push({ resolve: answer, reject });
      else if (mode.kind === 'late') setTimeout(answer, mode.delayMs);
      else answer();
    });
  }

  static create(): FakeRedis & Record<string, (...args: unknown[]) => Promise<unknown>> {
    const fake = new FakeRedis();
    return new Proxy(fake, {
      get(target, property, receiver) {
        if (typeof property === 'string' && target.handlers.has(property))
          return (...args: unknown[]) => target.command(property, args);
        return Reflect.get(target, property, receiver) as unknown;
      },
    }) as FakeRedis & Record<string, (...args: unknown[]) => Promise<unknown>>;
  }
}

function fetchedAt(serialized: string): string {
  try {
    const parsed = JSON.parse(serialized) as { value?: { fetchedAt?: unknown } };
    return typeof parsed.value?.fetchedAt === 'string' ? parsed.value.fetchedAt : '';
  } catch {
    return '';
  }
}
