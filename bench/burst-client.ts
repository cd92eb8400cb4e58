/**
 * The stampede client: plain TCP sockets, connected before a burst, then one pre-built
 * `GET` written to each in the same event-loop turn.
 *
 * Why not node:http's client: under a 200-request burst it costs the client itself a few hundred
 * microseconds per request, so a burst of 200 warm cache hits measured 60–100 ms p99 with it,
 * most of the budget the stampede targets set. These sockets cost the client a few microseconds
 * each, so the latencies below are the server's. Connecting sends no HTTP request, so a freshly
 * started service is as cold (JIT included) when the burst starts as it was when it became ready.
 */
import { connect, type Socket } from 'node:net';

export interface BurstAnswer {
  /** 0 when the socket failed or closed before a full answer. */
  readonly status: number;
  readonly cacheStatus: string;
  /** From the burst's first write to this answer's last byte. */
  readonly ms: number;
}

const ANSWER_TIMEOUT_MS = 10_000;

/** Opens `n` keep-alive TCP connections, round-robin over the base URLs (http://host:port). */
export async function openSockets(urls: readonly string[], n: number): Promise<Socket[]> {
  const sockets = await Promise.allSettled(
    Array.from({ length: n }, (_, i) => {
      const { hostname, port } = new URL(urls[i % urls.length]);
      return new Promise<Socket>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => {
          socket.off('error', reject);
          resolve(socket);
        });
        socket.setNoDelay(true);
        socket.once('error', reject);
      });
    }),
  );
  const open = sockets.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (open.length < n) {
    closeSockets(open);
    const failed = sockets.find((s) => s.status === 'rejected');
    throw new Error(`could connect only ${open.length} of ${n} sockets: ${String(failed?.reason)}`);
  }
  return open;
}

export function closeSockets(sockets: readonly Socket[]): void {
  for (const socket of sockets) socket.destroy();
}

/** Writes one `GET path` on every socket in the same turn and resolves every answer. */
export function burst(
  sockets: readonly Socket[],
  path: string,
  clientKey: string,
): Promise<BurstAnswer[]> {
  const request = Buffer.from(
    `GET ${path} HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer ${clientKey}\r\n\r\n`,
    'latin1',
  );
  const started = performance.now();
  return Promise.all(sockets.map((socket) => answerOn(socket, request, started)));
}

/** Writes `request` on `socket` and resolves its answer, timed from `started` to the answer's last byte. */
export function answerOn(socket: Socket, request: Buffer, started: number): Promise<BurstAnswer> {
  return new Promise((resolve) => {
    let received = '';
    const finish = (status: number, cacheStatus: string): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      clearTimeout(timer);
      resolve({ status, cacheStatus, ms: performance.now() - started });
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('latin1');
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = received.slice(0, headEnd);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? Number.NaN);
      // Every answer of the service carries a Content-Length; without one, the answer is unusable here.
      if (!Number.isFinite(length)) {
        finish(0, '');
        return;
      }
      if (received.length - headEnd - 4 < length) return;
      finish(Number(head.slice(9, 12)), /\r\ncache-status: *([^\r]*)/i.exec(head)?.[1] ?? '');
    };
    const onClose = (): void => {
      finish(0, '');
    };
    const timer = setTimeout(() => {
      finish(0, '');
    }, ANSWER_TIMEOUT_MS);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(request);
  });
}

/**
 * One request on a fresh connection, the way wrk sends it (`Host: host:port`, then `headers`);
 * resolves its status and how many bytes the answer took (status line, headers, body).
 */
export function exchange(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; bytes: number }> {
  const { hostname, port, pathname, search } = new URL(url);
  const head = [
    `GET ${pathname}${search} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const socket = connect(Number(port), hostname, () => {
      socket.write(`${head.join('\r\n')}\r\n\r\n`);
    });
    const timer = setTimeout(() => {
      socket.destroy(new Error(`no complete answer from ${url} within ${ANSWER_TIMEOUT_MS} ms`));
    }, ANSWER_TIMEOUT_MS);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const text = received.subarray(0, headEnd).toString('latin1');
      const status = Number(text.slice(9, 12));
      const length = /\r\ncontent-length: *(\d+)/i.exec(text)?.[1];
      const bodyless = status === 304 || status === 204;
      if (!bodyless && length === undefined) {
        socket.destroy(new Error(`${url} answered without a Content-Length`));
        return;
      }
      const total = headEnd + 4 + (bodyless ? 0 : Number(length));
      if (received.length < total) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status, bytes: total });
    });
  });
}
