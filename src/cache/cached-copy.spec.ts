import { availableNumber } from '../common/available-number';
import { CachedCopy, sharedEntrySchema } from './cached-copy';

const timing = { ttlMs: 30_000, staleMs: 300_000 };
const numbers = [{ id: 1, voipNumber: '+918000000001', provider: 'exotel', status: 'ACTIVE' }];
const T0 = Date.parse('2026-11-28T10:00:00.000Z');

describe(CachedCopy.name, () => {
  it('is fresh for the TTL, then usable (stale) for the stale window, both counted from when Superfone answered', () => {
    const copy = new CachedCopy(numbers, T0, timing);

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
    const copy = new CachedCopy(numbers, T0, timing);
    const schema = sharedEntrySchema(availableNumber);

    const back = CachedCopy.fromShared(JSON.parse(JSON.stringify(copy.toShared())), schema, timing);

    expect(back?.fetchedAt).toBe(T0);
    expect(back?.items).toEqual(numbers);
    expect(back?.staleUntil).toBe(copy.staleUntil);
    expect(
      CachedCopy.fromShared({ fetchedAt: 'yesterday', data: numbers }, schema, timing),
    ).toBeUndefined();
    expect(
      CachedCopy.fromShared({ fetchedAt: copy.fetchedAtIso, data: [{ id: '1' }] }, schema, timing),
    ).toBeUndefined();
  });

  it('keeps each derived view for the life of the copy', () => {
    const copy = new CachedCopy(numbers, T0, timing);
    const view = { body: Buffer.from('serialized'), etag: '"e"' };

    expect(copy.view('all')).toBeUndefined();
    expect(copy.keepView('all', view)).toBe(view);
    expect(copy.view('all')).toBe(view);
  });

  it('keeps at most 32 views, the least recently used making room: filters cycled after a refresh cannot crowd out the busy ones', () => {
    const copy = new CachedCopy(numbers, T0, timing);
    const view = (key: string) => ({ body: Buffer.from(key), etag: `"${key}"` });
    copy.keepView('all', view('all'));
    for (let i = 0; i < 31; i++) copy.keepView(`filter-${i}`, view(`filter-${i}`));

    // Full: 'all' is used, then eight new filters arrive.
    expect(copy.view('all')?.etag).toBe('"all"');
    for (let i = 31; i < 39; i++) copy.keepView(`filter-${i}`, view(`filter-${i}`));

    expect(copy.view('all')?.etag).toBe('"all"');
    // The newest are kept (each later request finds its view), the least recently used are gone.
    for (let i = 31; i < 39; i++) expect(copy.view(`filter-${i}`)?.etag).toBe(`"filter-${i}"`);
    for (let i = 0; i < 8; i++) expect(copy.view(`filter-${i}`)).toBeUndefined();
    expect(copy.view('filter-8')?.etag).toBe('"filter-8"');
    // Never more than 32.
    const kept = ['all', ...Array.from({ length: 39 }, (_, i) => `filter-${i}`)].filter(
      (key) => copy.view(key) !== undefined,
    );
    expect(kept).toHaveLength(32);
  });
});
