import type { ClaimOutcome } from './claim-outcome';
import {
  ANSWER_TTL_MS,
  type IdempotencyRecord,
  type IdempotentAnswer,
  type RecordId,
} from './idempotency.record';

/**
 * Records kept at most in this process: 10,000 (client, key) pairs. An answer is a few hundred
 * bytes (a link, or a problem's code and detail), so this stays in the low megabytes.
 */
export const MAX_LOCAL_RECORDS = 10_000;

interface Entry {
  record: IdempotencyRecord;
  expiresAt: number;
}

/**
 * The in-process records: the same claim, complete and release as in Redis, for a process
 * without Redis or while Redis fails. Bounded: an entry expires like its Redis twin, and beyond
 * `maxRecords` the least recently used entry is dropped (a Map keeps insertion order; a read
 * moves an entry to the end).
 */
export class LocalIdempotencyRecords {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxRecords = MAX_LOCAL_RECORDS,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** True when this process holds a live record for `id` (made while Redis failed, or without it). */
  has(id: RecordId): boolean {
    return this.live(localKey(id)) !== undefined;
  }

  claim(id: RecordId, fingerprint: string, token: string, runningTtlMs: number): ClaimOutcome {
    const key = localKey(id);
    const entry = this.live(key);
    if (!entry) {
      this.put(key, { state: 'running', fingerprint, token }, runningTtlMs);
      return { kind: 'claimed' };
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    const { record } = entry;
    if (record.fingerprint !== fingerprint) return { kind: 'mismatch' };
    if (record.state === 'running')
      return record.token === token ? { kind: 'claimed' } : { kind: 'running' };
    return { kind: 'done', answer: record.answer };
  }

  /** Keeps the answer for 24 h unless another request took the key since (its claim expired). */
  complete(id: RecordId, fingerprint: string, token: string, answer: IdempotentAnswer): void {
    const key = localKey(id);
    const current = this.live(key)?.record;
    if (current && !(current.state === 'running' && current.token === token)) return;
    this.put(key, { state: 'done', fingerprint, answer }, ANSWER_TTL_MS);
  }

  /** Frees the key if this claim still holds it. */
  release(id: RecordId, token: string): void {
    const key = localKey(id);
    const current = this.live(key)?.record;
    if (current?.state === 'running' && current.token === token) this.entries.delete(key);
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private put(key: string, record: IdempotencyRecord, ttlMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { record, expiresAt: this.now() + ttlMs });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxRecords) break;
      this.entries.delete(oldest);
    }
  }
}

/** Client ids are 1-64 of `A-Z a-z 0-9 . _ -`, so a newline cannot occur in one. */
function localKey(id: RecordId): string {
  return `${id.clientId}\n${id.key}`;
}
