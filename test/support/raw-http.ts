import { connect } from 'node:net';

/** Sends raw bytes to host:port and resolves everything the server wrote back before closing. */
export async function rawRequest(url: string, payload: string, timeoutMs = 3000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.on('error', reject);
    socket.write(payload);
  });
}

/** Status code and parsed JSON body of a raw HTTP/1.1 answer. */
export function parseRaw(answer: string): { status: number; headers: string; body: unknown } {
  const [head, ...rest] = answer.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const text = rest.join('\r\n\r\n');
  return {
    status,
    headers: head.toLowerCase(),
    body: text ? (JSON.parse(text) as unknown) : undefined,
  };
}

/** A raw connection kept open: the test writes when it likes and watches what comes back. */
export interface RawConnection {
  write(bytes: string): void;
  /** Everything the server has written so far. */
  received(): string;
  /** Resolves once `text` has arrived (it rejects if the connection closes first). */
  receivedUntil(predicate: (text: string) => boolean): Promise<string>;
  /** Settles when the connection closes (by the server, or a reset): what arrived, and when. */
  readonly closed: Promise<{ text: string; at: number }>;
  destroy(): void;
}

/** Opens a connection and resolves once it is established (the server may still drop it). */
export function openRaw(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const text = () => Buffer.concat(chunks).toString('utf8');
    const waiters = new Set<() => void>();
    const closed = new Promise<{ text: string; at: number }>((settle) => {
      socket.once('close', () => {
        settle({ text: text(), at: Date.now() });
        for (const wake of waiters) wake();
      });
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      for (const wake of waiters) wake();
    });
    // A reset is one way for the server to close; 'close' follows and settles `closed`.
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve({
        write: (bytes) => socket.write(bytes),
        received: text,
        receivedUntil: (predicate) =>
          new Promise((done, fail) => {
            const check = () => {
              if (predicate(text())) {
                waiters.delete(check);
                done(text());
              } else if (socket.closed) {
                waiters.delete(check);
                fail(new Error(`the connection closed after: ${JSON.stringify(text())}`));
              }
            };
            waiters.add(check);
            check();
          }),
        closed,
        destroy: () => socket.destroy(),
      });
    });
    socket.once('error', reject);
  });
}

/** Rejects if `promise` has not settled within `ms`: an upper bound on a wait, never a sleep. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`no ${what} within ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}
