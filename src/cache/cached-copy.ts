import { z } from 'zod';

/** Freshness rules from config, in milliseconds. */
export interface CacheTiming {
  readonly ttlMs: number;
  readonly staleMs: number;
}

/** What goes into Redis: the validated, normalized list and when Superfone answered. */
export interface SharedEntry<T> {
  readonly fetchedAt: string;
  readonly data: T[];
}

/** The schema a copy read back from Redis must pass, for one resource's item schema. */
export function sharedEntrySchema<T>(item: z.ZodType<T>): z.ZodType<SharedEntry<T>> {
  return z.object({ fetchedAt: z.iso.datetime(), data: z.array(item) });
}

/** A ready-to-send answer derived from a copy (one filter of it): its bytes and their ETag. */
export interface CachedView {
  readonly body: Buffer;
  readonly etag: string;
}

/** Most distinct derived views (filter combinations) kept per copy. */
export const MAX_VIEWS = 32;

/**
 * One fetched copy of a list. Freshness derives from `fetchedAt`, the time Superfone answered,
 * so every tier and every replica agrees on when a copy turns stale and when it is gone.
 * Derived views (serialized bodies, ETags) are memoized on the copy: computed once per refresh.
 */
export class CachedCopy<T> {
  readonly fetchedAtIso: string;
  readonly freshUntil: number;
  readonly staleUntil: number;
  private readonly views = new Map<string, CachedView>();

  constructor(
    readonly items: readonly T[],
    readonly fetchedAt: number,
    timing: CacheTiming,
  ) {
    this.fetchedAtIso = new Date(fetchedAt).toISOString();
    this.freshUntil = fetchedAt + timing.ttlMs;
    this.staleUntil = this.freshUntil + timing.staleMs;
  }

  /** A copy read back from Redis; undefined when the stored value is not what we write. */
  static fromShared<T>(
    value: unknown,
    schema: z.ZodType<SharedEntry<T>>,
    timing: CacheTiming,
  ): CachedCopy<T> | undefined {
    const parsed = schema.safeParse(value);
    return parsed.success
      ? new CachedCopy(parsed.data.data, Date.parse(parsed.data.fetchedAt), timing)
      : undefined;
  }

  toShared(): SharedEntry<T> {
    return { fetchedAt: this.fetchedAtIso, data: [...this.items] };
  }

  isFresh(now: number): boolean {
    return now < this.freshUntil;
  }

  isUsable(now: number): boolean {
    return now < this.staleUntil;
  }

  /**
   * The view kept under `key`, if any. Split from keepView (not one method taking a builder) so
   * a hit allocates no closure.
   */
  view(key: string): CachedView | undefined {
    const view = this.views.get(key);
    // Least recently used goes first once the map is full: a used view moves to the end. Below
    // the cap nothing is evicted, so the usual hit (one or two views) pays no reordering.
    if (view !== undefined && this.views.size >= MAX_VIEWS) {
      this.views.delete(key);
      this.views.set(key, view);
    }
    return view;
  }

  /**
   * Keeps a view built for this copy and returns it. At the cap the least recently used view
   * makes room: a client cycling through filters right after a refresh cannot leave every later
   * filter rebuilt per request.
   */
  keepView(key: string, view: CachedView): CachedView {
    if (this.views.size >= MAX_VIEWS) this.views.delete(this.views.keys().next().value as string);
    this.views.set(key, view);
    return view;
  }
}
