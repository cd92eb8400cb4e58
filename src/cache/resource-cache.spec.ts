import {
  cacheConfig,
  GatedUpstream,
  type Item,
  Replica,
  redisProbe,
} from '../../test/support/resource-caches';
import { deleteKeys, testRedisUrl } from '../../test/support/test-app';
import { eventually } from '../../test/support/timing';
import { CachedCopy } from './cached-copy';
import { ResourceCache } from './resource-cache';
import { cacheTiming } from './shared-tier';

/**
 * What mutations need from a cached resource, and how resources share one Redis: real
 * ResourceCaches, real cache-manager and Keyv, the real Lua scripts on the suite's Redis. Only
 * Superfone is a stand-in (GatedUpstream), and every replica is a connection of its own.
 */
describe(`${ResourceCache.name} on a real Redis`, () => {
  const config = cacheConfig();
  let probe: ReturnType<typeof redisProbe>;
  let replicas: Replica[];
  let a: Replica;
  let b: Replica;

  beforeAll(() => {
    probe = redisProbe();
  });
  beforeEach(async () => {
    replicas = [await Replica.start(config), await Replica.start(config)];
    [a, b] = replicas;
  });
  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await deleteKeys(testRedisUrl(), config.redis.keyPrefix);
  });
  afterAll(() => {
    probe.disconnect();
  });

  /** The copy stored under `name`, as Redis holds it. */
  async function stored(name: string): Promise<{ fetchedAt: string; data: Item[] } | undefined> {
    const raw = await probe.get(a.keys.forResource(name).copy);
    return raw === null
      ? undefined
      : (JSON.parse(raw) as { value: { fetchedAt: string; data: Item[] } }).value;
  }

  it('refreshNow settles only once the new copy serves here and is in Redis', async () => {
    const upstream = new GatedUpstream();
    const { cache } = a.resource('things', upstream);

    const refreshed = await cache.refreshNow();

    expect(refreshed).toMatchObject({ outcome: 'refresh', coalesced: false });
    // Read at once, with nothing in between: the write was not left for later.
    expect(await stored('things')).toEqual({
      fetchedAt: refreshed.entry.fetchedAtIso,
      data: [{ id: 'a' }],
    });
    expect(await cache.read()).toMatchObject({ outcome: 'hit', entry: refreshed.entry });
    expect(upstream.calls).toBe(1);
  });

  it('refreshNow never hands back a fetch that began before it was called', async () => {
    const upstream = new GatedUpstream();
    const { cache } = a.resource('things', upstream);
    upstream.hold();
    const before = cache.read();
    await eventually(() => (upstream.calls === 1 ? true : undefined), 'the first fetch');
    // The write upstream lands while that fetch is out.
    upstream.items = [{ id: 'a' }, { id: 'b' }];

    const after = cache.refreshNow();
    upstream.release();

    expect((await before).entry.items).toEqual([{ id: 'a' }]);
    expect((await after).entry.items).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(upstream.events).toEqual(['start:1', 'end:1', 'start:2', 'end:2']);
    expect((await cache.read()).entry.items).toEqual([{ id: 'a' }, { id: 'b' }]);
  });

  it('refreshNow waits out the refresh another replica holds the lock for, and its copy is the one Redis keeps', async () => {
    const upstream = new GatedUpstream();
    const holder = a.resource('things', upstream);
    const writer = b.resource('things', upstream);
    upstream.hold();
    const slow = holder.cache.read();
    await eventually(() => (upstream.calls === 1 ? true : undefined), "the holder's fetch");
    upstream.items = [{ id: 'a' }, { id: 'b' }];
    const attempts = jest.spyOn(writer.lock, 'acquire');

    const after = writer.cache.refreshNow();
    await eventually(
      () => (attempts.mock.results.length >= 2 ? true : undefined),
      'a second lock attempt',
    );

    expect(await attempts.mock.results[0].value).toMatchObject({ state: 'busy' });
    expect(upstream.calls).toBe(1);
    upstream.release();
    expect((await after).entry.items).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect((await slow).entry.items).toEqual([{ id: 'a' }]);
    expect(upstream.events).toEqual(['start:1', 'end:1', 'start:2', 'end:2']);
    expect((await stored('things'))?.data).toEqual([{ id: 'a' }, { id: 'b' }]);
  });

  it('dropLocal: the next read takes the newer shared copy, with no upstream call', async () => {
    const upstream = new GatedUpstream();
    const writer = a.resource('things', upstream);
    const other = b.resource('things', upstream);
    await writer.cache.refreshNow();
    expect(await other.cache.read()).toMatchObject({ outcome: 'hit' });
    upstream.items = [{ id: 'a' }, { id: 'b' }];
    const fresh = await writer.cache.refreshNow();
    // Until told, the other replica serves the copy it holds.
    expect((await other.cache.read()).entry.items).toEqual([{ id: 'a' }]);

    other.cache.dropLocal();
    const after = await other.cache.read();

    expect(after).toMatchObject({ outcome: 'hit' });
    expect(after.entry.fetchedAt).toBe(fresh.entry.fetchedAt);
    expect(after.entry.items).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(upstream.calls).toBe(2);
  });

  it('dropLocal during a load: reads after it take the shared copy, and the load keeps its older copy to its callers', async () => {
    const upstream = new GatedUpstream();
    const { cache } = a.resource('things', upstream);
    upstream.hold();
    const before = cache.read();
    await eventually(() => (upstream.calls === 1 ? true : undefined), 'the fetch');
    // Another replica's newer copy lands in Redis (written here through a shared tier of the same key).
    const newer = new CachedCopy([{ id: 'a' }, { id: 'b' }], Date.now(), cacheTiming(config));
    await b.sharedTier('things').write(newer);

    cache.dropLocal();
    const after = await cache.read();
    upstream.release();

    expect(after).toMatchObject({ outcome: 'hit', entry: { fetchedAt: newer.fetchedAt } });
    expect((await before).entry.items).toEqual([{ id: 'a' }]);
    expect((await cache.read()).entry.items).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(upstream.calls).toBe(1);
  });

  it('invalidate deletes the shared copy and the local one: the next read anywhere asks Superfone', async () => {
    const upstream = new GatedUpstream();
    const writer = a.resource('things', upstream);
    const other = b.resource('things', upstream);
    await writer.cache.refreshNow();
    expect(await stored('things')).toBeDefined();

    await writer.cache.invalidate();

    expect(await probe.exists(a.keys.forResource('things').copy)).toBe(0);
    expect(writer.cache.localAgeSeconds).toBeUndefined();
    expect(await other.cache.read()).toMatchObject({ outcome: 'miss' });
    expect(upstream.calls).toBe(2);
  });

  it("two resources on one Redis: neither waits on the other's lock nor reads the other's copy", async () => {
    const one = new GatedUpstream();
    const two = new GatedUpstream();
    two.items = [{ id: 'z' }];
    const first = a.resource('one', one);
    const second = b.resource('two', two);
    one.hold();
    const slow = first.cache.read();
    await eventually(() => (one.calls === 1 ? true : undefined), "the first resource's fetch");
    const attempts = jest.spyOn(second.lock, 'acquire');

    // With one lock for both, this would wait a lock lifetime (31 s) and time the test out.
    const answer = await second.cache.read();

    expect(await attempts.mock.results[0].value).toMatchObject({ state: 'acquired' });
    expect(await probe.get(a.keys.forResource('one').refreshLock)).toEqual(expect.any(String));
    expect(answer).toMatchObject({ outcome: 'miss', entry: { items: [{ id: 'z' }] } });
    one.release();
    expect((await slow).entry.items).toEqual([{ id: 'a' }]);
    await eventually(async () => (await stored('one')) && (await stored('two')), 'both copies');
    expect((await stored('one'))?.data).toEqual([{ id: 'a' }]);
    expect((await stored('two'))?.data).toEqual([{ id: 'z' }]);
    expect([one.calls, two.calls]).toEqual([1, 1]);
  });

  it('a value under the key that does not pass the item schema is a miss', async () => {
    const upstream = new GatedUpstream();
    const { cache } = a.resource('things', upstream);
    await probe.set(
      a.keys.forResource('things').copy,
      JSON.stringify({
        value: { fetchedAt: new Date().toISOString(), data: [{ name: 'not an item' }] },
        expires: null,
      }),
    );

    expect(await cache.read()).toMatchObject({ outcome: 'miss', entry: { items: [{ id: 'a' }] } });
    expect(upstream.calls).toBe(1);
  });
});
