import type { CachedCopy } from './cached-copy';
import type { LockAttempt, RefreshLock } from './refresh-lock';
import { WAIT_POLL_MS } from './resource-read';
import type { SharedTier } from './shared-tier';

/** The bookkeeping of one load of a ResourceCache, and the two ways a load waits on another replica. */

/** mutation: refreshNow, after a write upstream. */
export type LoadReason = 'miss' | 'background' | 'forced' | 'mutation';
/** Where a load's copy came from: already shared, fetched here, or fetched by the replica holding the lock. */
export type LoadSource = 'shared' | 'upstream' | 'winner' | 'local';

export interface Loaded<T> {
  readonly entry: CachedCopy<T>;
  readonly source: LoadSource;
}

/** One load in flight in this process; every caller in the meantime joins it. */
export interface Load<T> {
  promise: Promise<Loaded<T>>;
  readonly reason: LoadReason;
  /** Set by a forced refresh (also one that arrived while this load was still deciding): go to Superfone. */
  upstreamWanted: boolean;
  /** dropLocal() calls before it began: one that a drop overtook keeps its copy to its callers. */
  readonly generation: number;
  /** Settles once the shared write of the copy it fetched has been attempted. */
  written?: Promise<void>;
}

/** Polls the shared tier until a copy newer than `known` appears, for at most one lock lifetime. */
export async function waitForNewerShared<T>(
  shared: SharedTier<T>,
  lock: RefreshLock,
  known: number,
): Promise<CachedCopy<T> | undefined> {
  const deadline = Date.now() + lock.ttlMs;
  while (Date.now() < deadline && shared.reachable) {
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
    const copy = await shared.read();
    if (copy && copy.fetchedAt > known) return copy;
  }
  return undefined;
}

/**
 * For refreshNow: waits until the lock holder has written its copy and let go (at most one lock
 * lifetime, after which it has expired), so this fetch begins after every refresh in flight and
 * its copy is the newest in Redis too (the shared write keeps the later `fetchedAt`).
 */
export async function lockWhenFree(lock: RefreshLock): Promise<LockAttempt> {
  const deadline = Date.now() + lock.ttlMs;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
    const attempt = await lock.acquire();
    if (attempt.state !== 'busy' || Date.now() >= deadline) return attempt;
  }
}
