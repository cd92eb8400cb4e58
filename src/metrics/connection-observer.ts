import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { RepeatedWarning } from '../logging/repeated-warning';
import type { Metrics } from './metrics';

/**
 * The connection cap, seen from outside: Node closes a connection over `server.maxConnections`
 * at once and emits 'drop'. Each drop is counted; the log says so at most once per summary
 * interval (a flood of connections must not become a flood of log lines). The open-connections
 * gauge asks the server when scraped.
 */
export function observeConnections(
  server: Server,
  metrics: Metrics,
  logger: Logger,
  maxConnections: number,
): void {
  const warning = new RepeatedWarning(
    logger,
    'connection dropped: HTTP_MAX_CONNECTIONS connections are already open',
  );
  server.on('drop', () => {
    metrics.connectionsDropped.inc();
    warning.warn({ maxConnections });
  });
  metrics.watchOpenConnections(
    () =>
      new Promise((resolve, reject) => {
        server.getConnections((error, count) => {
          if (error) reject(error);
          else resolve(count);
        });
      }),
  );
}
