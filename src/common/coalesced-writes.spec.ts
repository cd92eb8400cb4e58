import { expect } from '@jest/globals';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { setImmediate as nextTurn } from 'node:timers/promises';
import pino from 'pino';
import { openRaw, within, type RawConnection } from '../../test/support/raw-http';
import { MAX_HOLD_MS, registerCoalescedWrites } from './coalesced-writes';

/**
 * The hold rule on a real Fastify server and real sockets, with a clock of the test's own: each
 * request's handler moves it on by `step` ms, so how long a batch has waited does not depend on
 * how fast this machine is. All requests are written before the server's next turn, so it reads
 * them in one turn; each handler notes which earlier answers had been written when it ran.
 */
describe('registerCoalescedWrites', () => {
  let server: FastifyInstance;
  let url: string;
  let clock = 0;
  let step = 0;
  const replies: FastifyReply[] = [];
  /** For each request (by its index), which of the earlier answers had left when it was handled. */
  const written: boolean[][] = [];
  const open: RawConnection[] = [];
  let accepted = 0;
  /** What the hook logged (it logs only a failed write). */
  const logged: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(line) });

  beforeAll(async () => {
    server = Fastify();
    registerCoalescedWrites(server, logger, () => clock);
    server.get<{ Params: { i: string } }>('/:i', (request, reply) => {
      clock += step;
      written[Number(request.params.i)] = replies.map((earlier) => earlier.raw.headersSent);
      replies.push(reply);
      return `answer ${request.params.i}`;
    });
    url = await server.listen({ port: 0, host: '127.0.0.1' });
    server.server.on('connection', () => accepted++);
  });
  afterEach(() => {
    for (const connection of open.splice(0)) connection.destroy();
    replies.length = 0;
    written.length = 0;
    expect(logged.splice(0)).toEqual([]);
  });
  afterAll(async () => {
    await server.close();
  });

  /**
   * Sends request i on connection i, all in one turn, and waits for every answer. The server
   * accepts one connection per turn, so the requests wait until it has accepted them all and is
   * reading from each; loopback delivers a write at once, so its next turn finds them all.
   */
  async function burst(n: number): Promise<string[]> {
    const before = accepted;
    const connections = await Promise.all(Array.from({ length: n }, () => openRaw(url)));
    open.push(...connections);
    while (accepted < before + n) await nextTurn();
    await nextTurn();
    connections.forEach((connection, i) => {
      connection.write(`GET /${i} HTTP/1.1\r\nhost: x\r\n\r\n`);
    });
    return Promise.all(
      connections.map((connection) =>
        within(
          connection.receivedUntil((text) => /answer \d+$/.test(text)),
          5000,
          'an answer',
        ),
      ),
    );
  }

  it('holds a turn that ends within the bound until its end, then writes every answer', async () => {
    step = 0;
    const answers = await burst(6);

    answers.forEach((text, i) => {
      expect(text).toMatch(new RegExp(`^HTTP/1.1 200 .*answer ${i}$`, 's'));
    });
    // Every handler ran before any answer of the turn had been written.
    expect(written).toEqual([
      [],
      [false],
      [false, false],
      [false, false, false],
      [false, false, false, false],
      [false, false, false, false, false],
    ]);
  });

  it('writes a batch once its first answer has waited MAX_HOLD_MS, without waiting for the turn to end', async () => {
    // Answers ready at 0.5, 1, 1.5 ms: the third finds the first held exactly MAX_HOLD_MS and
    // writes all three; the next three make the second batch, written the same way.
    step = MAX_HOLD_MS / 2;
    const answers = await burst(6);

    answers.forEach((text, i) => {
      expect(text).toMatch(new RegExp(`answer ${i}$`));
    });
    expect(written[2]).toEqual([false, false]);
    expect(written[3]).toEqual([true, true, true]);
    expect(written[4]).toEqual([true, true, true, false]);
    expect(written[5]).toEqual([true, true, true, false, false]);
  });

  it('holds no answer once the app has begun to close', async () => {
    const closing = Fastify();
    registerCoalescedWrites(closing, logger, () => 0);
    // Runs after the hook's own preClose, which it registered first.
    let closeBegan!: () => void;
    const began = new Promise<void>((resolve) => (closeBegan = resolve));
    closing.addHook('preClose', (done) => {
      closeBegan();
      done();
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    let sentAtOnce: boolean | undefined;
    closing.get('/late', async (_request, reply) => {
      entered();
      await gate;
      void reply.send('late answer');
      sentAtOnce = reply.raw.headersSent;
      return reply;
    });
    const closingUrl = await closing.listen({ port: 0, host: '127.0.0.1' });
    const connection = await openRaw(closingUrl);
    open.push(connection);
    connection.write('GET /late HTTP/1.1\r\nhost: x\r\n\r\n');
    await inHandler;

    const closed = closing.close();
    await began;
    release();
    const text = await within(
      connection.receivedUntil((received) => received.endsWith('late answer')),
      5000,
      'the answer',
    );
    // Node's server.close() waits for connections busy when it was called; this one is done.
    connection.destroy();
    await closed;

    expect(text).toMatch(/^HTTP\/1.1 200 /);
    expect(sentAtOnce).toBe(true);
  });
});
