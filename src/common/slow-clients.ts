import type { AppConfig } from '../config/app-config';

type HttpSettings = AppConfig['http'];

/**
 * How often Node looks for requests past their deadline (`connectionsCheckingInterval`, 30 s by
 * default, which would let a 10 s header deadline run to 40 s): a tenth of the shorter deadline,
 * at most 1 s, so a deadline fires within about 10 % of itself. The check walks only the
 * connections with a request in progress.
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
