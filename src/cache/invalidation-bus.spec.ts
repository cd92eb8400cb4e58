import { defined } from '../../test/support/defined';
import { loadConfig } from '../config/load-config';
import { AppLogger } from '../logging/app-logger';
import { Metrics } from '../metrics/metrics';
import type { ChannelListener, RedisSubscriber } from '../redis/redis-subscriber';
import type { RedisConnection } from '../redis/redis.connection';
import { CacheKeys } from './cache-keys';
import {
  type ChangedResources,
  InvalidationBus,
  parseAnnouncement,
  parseGeneration,
} from './invalidation-bus';

/** What another replica (or anything else on the channel) may send; the bus itself runs against real Redis in test/. */
describe('parseAnnouncement', () => {
  const valid = {
    era: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
    generation: 7,
    resources: ['available-numbers', 'app-numbers:app-1'],
    origin: 'a3c1e2f0-0000-4000-8000-000000000001',
  };

  it('takes a message as announce() writes it, extra fields and all', () => {
    expect(parseAnnouncement(JSON.stringify(valid))).toEqual(valid);
    expect(parseAnnouncement(JSON.stringify({ ...valid, future: true }))).toEqual(valid);
  });

  it.each([
    ['not JSON', '{', 'not JSON'],
    ['not an object', 'null', 'not an object'],
    ['a string generation', JSON.stringify({ ...valid, generation: '7' }), 'generation is not'],
    ['generation 0', JSON.stringify({ ...valid, generation: 0 }), 'generation is not'],
    ['a fractional generation', JSON.stringify({ ...valid, generation: 1.5 }), 'generation is not'],
    ['no era', JSON.stringify({ ...valid, era: undefined }), 'era is not'],
    ['an era that would break the JSON', JSON.stringify({ ...valid, era: 'a"b' }), 'era is not'],
    ['no origin', JSON.stringify({ ...valid, origin: '' }), 'origin is not'],
    ['no resources', JSON.stringify({ ...valid, resources: [] }), 'resources is not'],
    ['a resource not a string', JSON.stringify({ ...valid, resources: [1] }), 'resources is not'],
    [
      'too many resources',
      JSON.stringify({ ...valid, resources: Array.from({ length: 101 }, (_, i) => `r${i}`) }),
      'resources is not',
    ],
    ['a huge text', 'x'.repeat(16 * 1024 + 1), 'longer than'],
  ])('refuses %s, saying why', (_name, text, reason) => {
    expect(parseAnnouncement(text)).toEqual(expect.stringContaining(reason));
  });
});

describe('parseGeneration', () => {
  it('reads `<era>:<n>`, and no key as no era and no change', () => {
    expect(parseGeneration('e-1:42')).toEqual({ era: 'e-1', n: 42 });
    expect(parseGeneration(null)).toEqual({ era: null, n: 0 });
  });

  it('anything else is unreadable', () => {
    for (const stored of ['42', 'e:', ':4', 'e:4:5', 'e:-1', `e:${'9'.repeat(16)}`, 'é:1'])
      expect(parseGeneration(stored)).toBeUndefined();
  });
});

/**
 * A generation read that messages overtook: the read leaves on the command connection, a message
 * published after it arrives on the subscriber's connection, and Node may handle the message
 * first. The bus runs against real Redis in test/; here the read's reply is held back so that the
 * order is certain.
 */
describe('InvalidationBus: a generation read that messages overtook', () => {
  const config = loadConfig({
    SUPERFONE_API_KEY: 'server-key',
    CLIENT_KEYS: JSON.stringify([{ id: 'a', keySha256: 'a'.repeat(64), scopes: ['numbers:read'] }]),
    REDIS_URL: 'redis://fake:6379',
    LOG_LEVEL: 'warn',
  });
  const GRACE_MS = 100;
  let listener: ChannelListener | undefined;
  let reads: ((stored: string | null) => void)[];
  let events: ChangedResources[];
  let logs: string[];
  let bus: InvalidationBus;

  beforeEach(() => {
    jest.useFakeTimers();
    reads = [];
    events = [];
    logs = [];
    listener = undefined;
    const redis = {
      client: { defineCommand: () => undefined },
      isUsable: true,
      // Every command the bus runs here is its GET of the generation; the test answers it.
      run: () =>
        new Promise<string | null>((resolve) => {
          reads.push(resolve);
        }),
    } as unknown as RedisConnection;
    const subscriber = {
      listen: (_channel: string, l: ChannelListener) => {
        listener = l;
      },
    } as unknown as RedisSubscriber;
    bus = new InvalidationBus(
      redis,
      subscriber,
      new CacheKeys('p:', 'server-key'),
      new Metrics(),
      new AppLogger(config, { write: (line: string) => logs.push(line) }),
      { graceMs: GRACE_MS, checkIntervalMs: 60_000 },
    );
    bus.onChange((resources) => events.push(resources));
    void bus.onModuleInit();
  });
  afterEach(() => {
    bus.onApplicationShutdown();
    jest.useRealTimers();
  });

  const on = () => defined(listener, 'the bus subscription');
  /** Answers the oldest read still waiting, and lets the bus handle it. */
  async function answerRead(stored: string | null): Promise<void> {
    const answer = reads.shift();
    if (!answer) throw new Error('no generation read is waiting');
    answer(stored);
    await jest.advanceTimersByTimeAsync(0);
  }
  const message = (era: string, generation: number, resources = ['r'], origin = 'another') => {
    on().message(JSON.stringify({ era, generation, resources, origin }));
  };
  const missedWarnings = () => logs.filter((l) => l.includes('missed cache invalidation'));

  /** Subscribed for the first time, with `stored` as the generation: reports 'all'. */
  async function subscribedAt(stored: string): Promise<void> {
    on().subscribed();
    await answerRead(stored);
    expect(events).toEqual(['all']);
    events.length = 0;
  }

  it('after a resubscription, a read older than a message heard meanwhile is no loss', async () => {
    await subscribedAt('e1:3');
    on().interrupted();
    on().subscribed();
    message('e1', 4);
    await answerRead('e1:3');
    await jest.advanceTimersByTimeAsync(GRACE_MS * 2);

    expect(events).toEqual([['r']]);
    expect(missedWarnings()).toEqual([]);
    message('e1', 5, ['s']);
    expect(events).toEqual([['r'], ['s']]);
  });

  it('a read of no generation, overtaken by the first message of a new era, is no second loss', async () => {
    await subscribedAt('e1:1');
    on().interrupted();
    on().subscribed();
    // Of another era while unverified: Redis lost its data while this replica was away.
    message('e2', 1, ['r'], bus.origin);
    await answerRead(null);
    message('e2', 2, ['s']);

    expect(events).toEqual(['all', ['s']]);
    expect(missedWarnings()).toHaveLength(1);
  });

  it('a message of a new era that arrives before the resubscription is told is a loss, not a change', async () => {
    await subscribedAt('e1:1');
    on().interrupted();
    // Redis restarted empty; the first announcement after it came in the same read as the
    // SUBSCRIBE reply, and ioredis emitted it first.
    message('e2', 1, ['r']);
    on().subscribed();
    await answerRead('e2:1');

    expect(events).toEqual(['all']);
    expect(missedWarnings()).toHaveLength(1);
    message('e2', 2, ['s']);
    expect(events).toEqual(['all', ['s']]);
  });

  it('a read ahead of the messages heard meanwhile still waits for the rest, and reports them missed', async () => {
    await subscribedAt('e1:3');
    on().interrupted();
    on().subscribed();
    message('e1', 4);
    await answerRead('e1:6');
    await jest.advanceTimersByTimeAsync(GRACE_MS * 2);

    expect(events).toEqual([['r'], 'all']);
    expect(missedWarnings()).toEqual([expect.stringContaining('no message for the generation')]);
  });
});
