import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AppConfig } from '../config/app-config';
import { answerRequestTimeout } from './http-hygiene';

type HttpSettings = AppConfig['http'];

/**
 * How often Node looks for requests past their deadline (`connectionsCheckingInterval`, 30 s by
 * default, which would let a 10 s header deadline run to 40 s): a tenth of the header deadline
 * (the shorter one), at most 1 s, so a deadline fires within about 10 % of itself. The check
 * walks only the connections with a request in progress.
 */
export function checkingIntervalMs(http: HttpSettings): number {
  return Math.max(10, Math.min(1000, Math.floor(http.headersTimeoutMs / 10)));
}

/**
 * The Fastify options for the deadlines. Node takes `headersTimeout` and
 * `connectionsCheckingInterval` only at http.createServer (Fastify passes `http` there), and
 * refuses a `headersTimeout` above the `requestTimeout` it has then, so both go in `http`;
 * Fastify then sets `requestTimeout` and `keepAliveTimeout` on the server itself.
 *
 * Fastify's `connectionTimeout` (an inactivity timeout on every socket) stays off: the three
 * deadlines cover each phase where the client is the slow side, and while a request is handled
 * the handlers' own deadlines (SUPERFONE_TIMEOUT_MS, REDIS_COMMAND_TIMEOUT_MS) bound it.
 */
export function deadlineOptions(http: HttpSettings) {
  return {
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    http: {
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: http.requestTimeoutMs,
      connectionsCheckingInterval: checkingIntervalMs(http),
    },
  };
}

const openSockets = new WeakMap<Server, Set<Socket>>();

/** Keeps the server's open sockets, for `expireSlowRequests` while the server closes. */
export function trackConnections(server: Server): void {
  const sockets = new Set<Socket>();
  openSockets.set(server, sockets);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
}

/** node:http's own link from a socket to the response in progress on it (none between requests). */
type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

/**
 * Node's deadline check stops when the server closes (http.Server#close clears its timer), so
 * during a drain a client stalling in its request would hold the process until
 * SHUTDOWN_TIMEOUT_MS. Called while draining, this does the check instead: a connection still
 * sending request headers `headersTimeoutMs` after the drain began, or a body `requestTimeoutMs`
 * after, gets the same 408 (or close) as before the drain. Counting from the drain's start gives
 * a request begun before it more time than Node would have (the drain lasts at most
 * SHUTDOWN_TIMEOUT_MS anyway); one begun during the drain, on a connection whose previous answer
 * just went out, may get less. Requests being handled are left alone.
 */
export function expireSlowRequests(
  server: Server,
  http: HttpSettings,
  drainStartedAt: number,
  now = Date.now(),
): void {
  const elapsed = now - drainStartedAt;
  if (elapsed < http.headersTimeoutMs) return;
  for (const socket of openSockets.get(server) ?? []) {
    if (socket.destroyed) continue;
    const response = (socket as HttpSocket)._httpMessage;
    // No response on the socket: its request head has not arrived (an idle keep-alive connection
    // would be one too, but the drain closes those first). A complete request is being handled.
    const late = !response || (!response.req.complete && elapsed >= http.requestTimeoutMs);
    if (late) answerRequestTimeout(socket);
  }
}
