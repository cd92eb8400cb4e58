import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/**
 * Holds every answer until the end of the event-loop turn that produced it, then writes the
 * turn's answers one after another (setImmediate runs once the turn's I/O callbacks and their
 * promises are done).
 *
 * Why: each write to a socket whose reader sleeps also wakes that reader (another process,
 * often on another core), and the kernel charges the wake-up to the writer. Under load one turn
 * handles many requests; written as each is ready, every answer is tens of microseconds of our
 * work apart from the next and each one wakes a reader that went back to sleep in between.
 * Written back to back, they find the readers awake. Redis writes its replies the same way, in
 * its beforeSleep step. `bench/README.md` ("Where a hit's time goes") has the measurement.
 *
 * The cost is the wait: an answer leaves when its turn ends, not when it is ready, so by at most
 * the time the turn's other requests take (one request alone waits for nothing else). What waits
 * is bounded by what one turn reads. While the app closes, nothing is held.
 */
export function registerCoalescedWrites(fastify: FastifyInstance, logger: Logger): void {
  /** The answers of the current turn, in the order they were ready. */
  let pending: Array<() => void> = [];
  /** The array the previous batch used, kept so that a batch allocates no array. */
  let spare: Array<() => void> = [];
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
    if (pending.push(write) === 1) setImmediate(writePending);
  });
}
