import type { IdempotentAnswer } from './idempotency.record';

/**
 * What claiming a (client, key) found:
 * - claimed: nobody had it; this request runs and must complete or release the claim;
 * - running: the same request is still being processed (409 IDEMPOTENCY_KEY_IN_USE);
 * - mismatch: the key was used for a different request (422 IDEMPOTENCY_KEY_MISMATCH);
 * - done: the same request finished; its answer is replayed.
 */
export type ClaimOutcome =
  | { readonly kind: 'claimed' }
  | { readonly kind: 'running' }
  | { readonly kind: 'mismatch' }
  | { readonly kind: 'done'; readonly answer: IdempotentAnswer };
