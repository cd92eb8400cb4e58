import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/**
 * How long the first answer of a batch may wait for the ones after it. Under steady load a hit
 * takes tens of microseconds, so a batch still holds a dozen or more answers; a turn that reads a
 * burst of 200 requests, or runs code V8 has not optimized yet, sends its answers every
 * millisecond instead of all at its end.
 */
export const MAX_HOLD_MS = 1;

/**
 * Holds each answer until the end of the event-loop turn that produced it (setImmediate runs once
 * the turn's I/O callbacks and their promises are done), then writes the batch's answers one after
 * another. A batch whose first answer has waited MAX_HOLD_MS is written when the next answer is
 * ready, without waiting for the turn to end.
 *
 * Why: each write to a socket whose reader sleeps also wakes that reader (another process,
 * often on another core), and the kernel charges the wake-up to the writer. Under load one turn
 * handles many requests; written as each is ready, every answer is tens of microseconds of our
 * work apart from the next and each one wakes a reader that went back to sleep in between.
 * Written back to back, they find the readers awake. Redis writes its replies the same way, in
 * its beforeSleep step. `bench/README.md` ("Where a hit's time goes") has the measurement.
 *
 * The cost is the wait. While the turn keeps producing answers, an answer leaves at most
 * MAX_HOLD_MS (plus the work of the answer that ends the batch) after it is ready; work that
 * produces no answer (a request still waiting for its data) cannot be interrupted, so an answer
 * held before it waits for the turn to end. One request alone waits for nothing else. While the
 * app closes, nothing is held.
 *
 * `now` is the clock the bound is measured with (a test passes its own).
 */
export function registerCoalescedWrites(
  fastify: FastifyInstance,
  logger: Logger,
  now: () => number = () => performance.now(),
): void {
  /** The answers of the current batch, in the order they were ready. */
  let pending: Array<() => void> = [];
  /** The array the previous batch used, kept so that a batch allocates no array. */
  let spare: Array<() => void> = [];
  /** When the current batch's first answer was ready. */
  let heldSince = 0;
  const writePending = (): void => {
    const batch = pending;
    pending = spare;
    for (let i = 0; i < batch.length; i++) {
      try {
        batch[i]();
      } catch (error) {
        // Fastify answers its own failures; a throw here would be its bug. It must not keep the
        // rest of the batch from being written.
        logger.error({ err: error }, 'writing a held answer failed');
      }
    }
    batch.length = 0;
    spare = batch;
  };
  // Once the app closes, answers go out as they are ready: Node's server.close() ends only the
  // connections idle at that moment, so one whose answer were still held would stay open until
  // its keep-alive timeout. The held ones are written first, before the server closes.
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    writePending();
    done();
  });
  fastify.addHook('onSend', (_request, _reply, payload, done) => {
    if (closing) {
      done(null, payload);
      return;
    }
    const write = (): void => {
      done(null, payload);
    };
    const readyAt = now();
    if (pending.push(write) === 1) {
      heldSince = readyAt;
      // If the bound below writes this batch early, this callback still runs at the turn's end
      // and writes whatever the turn held after it (or nothing).
      setImmediate(writePending);
    } else if (readyAt - heldSince >= MAX_HOLD_MS) {
      writePending();
    }
  });
}
