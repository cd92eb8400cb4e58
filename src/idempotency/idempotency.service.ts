import { Injectable } from '@nestjs/common';
import { AppError } from '../common/app.error';
import { PROBLEMS } from '../common/problem-codes';
import { isReplayable, type IdempotentAnswer } from './idempotency.record';
import { type Claim, IdempotencyStore } from './idempotency.store';
import { requestFingerprint } from './request-fingerprint';

/** One request that carried an Idempotency-Key, as far as idempotency cares. */
export interface IdempotentRequest {
  /** The authenticated client's id: keys are per client, so two clients never collide. */
  readonly clientId: string;
  /** The parsed key (idempotencyKeyOf). */
  readonly key: string;
  readonly method: string;
  /** The request URL as received; its path is normalized and its query ignored. */
  readonly url: string;
  /** The parsed JSON body, or undefined without one. */
  readonly body: unknown;
}

/** A response a handler produced (status, replayable headers, body): what run() keeps. */
export type IdempotentResponse = Extract<IdempotentAnswer, { kind: 'response' }>;

/**
 * - new: this request runs; end it with complete(answer) (kept if isReplayable, released if
 *   not) or abandon() (the handler failed: the key is free for a retry). Only the first call counts.
 * - replay: the same request already finished; answer with `answer` (see replayOn).
 */
export type Begun =
  | {
      readonly kind: 'new';
      complete(answer: IdempotentAnswer): Promise<void>;
      abandon(): Promise<void>;
    }
  | { readonly kind: 'replay'; readonly answer: IdempotentAnswer };

/** The header a replayed answer carries (draft-ietf-httpapi-idempotency-key-header practice). */
export const REPLAYED_HEADER = 'idempotent-replayed';

/**
 * Idempotency-Key for the mutation routes (SPEC "Number management"): the first final answer
 * for (client, key) is kept 24 h; the same request again replays it without running; another
 * request with that key is 422 IDEMPOTENCY_KEY_MISMATCH; while the first runs, 409
 * IDEMPOTENCY_KEY_IN_USE. Routes use it through @Idempotent() (or run()), which always ends the claim.
 */
@Injectable()
export class IdempotencyService {
  constructor(private readonly store: IdempotencyStore) {}

  /** Claims the key or finds its answer; throws the 409 or 422 AppError otherwise. */
  async begin(request: IdempotentRequest): Promise<Begun> {
    const id = { clientId: request.clientId, key: request.key };
    const fingerprint = requestFingerprint(request.method, request.url, request.body);
    const outcome = await this.store.claim(id, fingerprint);
    switch (outcome.kind) {
      case 'running':
        throw new AppError(
          'IDEMPOTENCY_KEY_IN_USE',
          'A request with this Idempotency-Key is still being processed; retry with the same key once it has been answered.',
          { 'retry-after': '1' },
        );
      case 'mismatch':
        throw new AppError(
          'IDEMPOTENCY_KEY_MISMATCH',
          'This Idempotency-Key was already used for a request with another method, path or body; send a new key for a new request.',
        );
      case 'done':
        return { kind: 'replay', answer: outcome.answer };
      case 'claimed':
        return endedOnce(outcome.claim);
    }
  }

  /**
   * Runs `exec` under the key: a replayed response comes back with `replayed: true` and `exec`
   * is not called (a replayed problem is thrown again, see replayedProblem). `exec`'s response
   * or AppError is kept when replayable; anything else it throws frees the key. Either way the
   * claim ends here, whatever `exec` does.
   */
  async run(
    request: IdempotentRequest,
    exec: () => Promise<IdempotentResponse>,
  ): Promise<{ response: IdempotentResponse; replayed: boolean }> {
    const begun = await this.begin(request);
    if (begun.kind === 'replay') {
      if (begun.answer.kind === 'problem') throw replayedProblem(begun.answer);
      return { response: begun.answer, replayed: true };
    }
    let response: IdempotentResponse;
    try {
      response = await exec();
    } catch (error) {
      if (error instanceof AppError) await begun.complete(problemAnswer(error));
      else await begun.abandon();
      throw error;
    }
    await begun.complete(response);
    return { response, replayed: false };
  }
}

/** The answer kept for a problem: its code, detail and headers (not the request's ids). */
export function problemAnswer(error: AppError): IdempotentAnswer {
  return { kind: 'problem', code: error.code, detail: error.detail, headers: error.headers };
}

/** A kept problem as an AppError again, marked replayed; the problem filter answers it. */
export function replayedProblem(answer: Extract<IdempotentAnswer, { kind: 'problem' }>): AppError {
  return new AppError(answer.code, answer.detail, { ...answer.headers, [REPLAYED_HEADER]: 'true' });
}

function statusOf(answer: IdempotentAnswer): number {
  return answer.kind === 'response' ? answer.status : PROBLEMS[answer.code].status;
}

function endedOnce(claim: Claim): Begun {
  let ended = false;
  const once = (end: () => Promise<void>): Promise<void> => {
    if (ended) return Promise.resolve();
    ended = true;
    return end();
  };
  return {
    kind: 'new',
    complete: (answer) =>
      once(() => (isReplayable(statusOf(answer)) ? claim.complete(answer) : claim.release())),
    abandon: () => once(() => claim.release()),
  };
}
