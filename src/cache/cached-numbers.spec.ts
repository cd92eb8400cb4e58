import { CachedNumbers } from './cached-numbers';

const timing = { ttlMs: 30_000, staleMs: 300_000 };
const numbers = [{ id: 1, voipNumber: '+918000000001', provider: 'exotel', status: 'ACTIVE' }];
const T0 = Date.parse('2026-11-28T10:00:00.000Z');

describe(CachedNumbers.name, () => {
  it('is fresh for the TTL, then usable (stale) for the stale window, both counted from when Superfone answered', () => {
    const copy = new CachedNumbers(numbers, T0, timing);

    expect(copy.fetchedAtIso).toBe('2026-11-28T10:00:00.000Z');
    expect([copy.isFresh(T0), copy.isFresh(T0 + 29_999), copy.isFresh(T0 + 30_000)]).toEqual([
      true,
      true,
      false,
    ]);
    expect([
      copy.isUsable(T0 + 30_000),
      copy.isUsable(T0 + 329_999),
      copy.isUsable(T0 + 330_000),
    ]).toEqual([true, true, false]);
  });

  it('round-trips through the shared form, and refuses a value it did not write', () => {
    const copy = new CachedNumbers(numbers, T0, timing);

    const back = CachedNumbers.fromShared(JSON.parse(JSON.stringify(copy.toShared())), timing);

    expect(back?.fetchedAt).toBe(T0);
    expect(back?.numbers).toEqual(numbers);
    expect(back?.staleUntil).toBe(copy.staleUntil);
    expect(
      CachedNumbers.fromShared({ fetchedAt: 'yesterday', data: numbers }, timing),
    ).toBeUndefined();
    expect(
      CachedNumbers.fromShared({ fetchedAt: copy.fetchedAtIso, data: [{ id: '1' }] }, timing),
    ).toBeUndefined();
  });

  it('builds each derived view once per copy', () => {
    const copy = new CachedNumbers(numbers, T0, timing);
    const build = jest.fn(() => ({ body: 'serialized' }));

    const first = copy.view('all', build);
    const second = copy.view('all', build);

    expect(second).toBe(first);
    expect(build).toHaveBeenCalledTimes(1);
  });

  it('keeps at most 32 views: a client cycling through filter combinations cannot grow a copy without bound', () => {
    const copy = new CachedNumbers(numbers, T0, timing);
    const builds = new Map<string, number>();
    const view = (key: string) => copy.view(key, () => builds.set(key, (builds.get(key) ?? 0) + 1));

    for (let i = 0; i < 40; i++) view(`filter-${i}`);
    for (let i = 0; i < 40; i++) view(`filter-${i}`);

    expect(builds.get('filter-0')).toBe(1);
    expect(builds.get('filter-31')).toBe(1);
    // The 33rd and later are built on every call instead of being kept.
    expect(builds.get('filter-32')).toBe(2);
    expect(builds.get('filter-39')).toBe(2);
  });
});
