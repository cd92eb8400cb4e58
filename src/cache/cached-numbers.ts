import { z } from 'zod';
import { type AvailableNumber, availableNumber } from '../common/available-number';

/** Freshness rules from config, in milliseconds. */
export interface CacheTiming {
  readonly ttlMs: number;
  readonly staleMs: number;
}

/** What goes into Redis: the validated, normalized list and when Superfone answered. */
const sharedEntry = z.object({
  fetchedAt: z.iso.datetime(),
  data: z.array(availableNumber),
});
export type SharedEntry = z.infer<typeof sharedEntry>;

/** Most distinct derived views (filter combinations) kept per copy. */
const MAX_VIEWS = 32;

/**
 * One fetched copy of the list. Freshness derives from `fetchedAt`, the time Superfone answered,
 * so every tier and every replica agrees on when a copy turns stale and when it is gone.
 * Derived views (serialized bodies, ETags) are memoized on the copy: computed once per refresh.
 */
export class CachedNumbers {
  readonly fetchedAtIso: string;
  readonly freshUntil: number;
  readonly staleUntil: number;
  private readonly views = new Map<string, unknown>();

  constructor(
    readonly numbers: readonly AvailableNumber[],
    readonly fetchedAt: number,
    timing: CacheTiming,
  ) {
    this.fetchedAtIso = new Date(fetchedAt).toISOString();
    this.freshUntil = fetchedAt + timing.ttlMs;
    this.staleUntil = this.freshUntil + timing.staleMs;
  }

  /** A copy read back from Redis; undefined when the stored value is not what we write. */
  static fromShared(value: unknown, timing: CacheTiming): CachedNumbers | undefined {
    const parsed = sharedEntry.safeParse(value);
    return parsed.success
      ? new CachedNumbers(parsed.data.data, Date.parse(parsed.data.fetchedAt), timing)
      : undefined;
  }

  toShared(): SharedEntry {
    return { fetchedAt: this.fetchedAtIso, data: [...this.numbers] };
  }

  isFresh(now: number): boolean {
    return now < this.freshUntil;
  }

  isUsable(now: number): boolean {
    return now < this.staleUntil;
  }

  /** Builds a derived view at most once per copy (bounded: extra variants are built per call). */
  view<T>(key: string, build: () => T): T {
    const existing = this.views.get(key);
    if (existing !== undefined) return existing as T;
    const built = build();
    if (this.views.size < MAX_VIEWS) this.views.set(key, built);
    return built;
  }
}
