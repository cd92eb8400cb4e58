import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { expireSlowRequests } from '../common/slow-clients';
import { AppConfig } from '../config/app-config';
import { LifecycleState } from '../health/lifecycle.state';

const IDLE_REAP_INTERVAL_MS = 50;

/**
 * SIGTERM/SIGINT: readiness turns 503 at once; the listener keeps accepting for
 * SHUTDOWN_DELAY_MS (the time load balancers need to stop sending, matching the chart's preStop);
 * then the server stops accepting, in-flight requests finish, Redis closes, and the process exits
 * 0, or 1 if that took longer than SHUTDOWN_TIMEOUT_MS. A second signal exits at once.
 */
export function installGracefulShutdown(
  app: NestFastifyApplication,
  config: AppConfig,
  logger: Logger,
): void {
  let draining = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (draining) {
      logger.warn({ signal }, 'second signal while draining: exiting now');
      process.exit(1);
    }
    draining = true;
    void drain(signal);
  };

  const drain = async (signal: NodeJS.Signals) => {
    const { delayMs, timeoutMs } = config.shutdown;
    app.get(LifecycleState).beginDraining();
    logger.info({ signal, delayMs, timeoutMs }, 'shutdown: readiness is 503, draining');
    await sleep(delayMs);
    const deadline = sleep(timeoutMs, 'timeout' as const, { ref: false });
    // Keep-alive connections go idle as their last request finishes; close them as they do, or
    // the server would wait for clients to hang up (HTTP_KEEP_ALIVE_TIMEOUT_MS, 72 s). A client
    // still sending its request is held to the same deadlines as before the drain.
    const server = app.getHttpServer();
    const closingSince = Date.now();
    const reaper = setInterval(() => {
      server.closeIdleConnections();
      expireSlowRequests(server, config.http, closingSince);
    }, IDLE_REAP_INTERVAL_MS);
    const outcome = await Promise.race([app.close().then(() => 'closed' as const), deadline]);
    clearInterval(reaper);
    if (outcome === 'timeout') {
      logger.error(
        { timeoutMs },
        'shutdown: in-flight work outlasted SHUTDOWN_TIMEOUT_MS; exiting anyway',
      );
      exitAfterFlush(logger, 1);
      return;
    }
    logger.info('shutdown: drained, exiting');
    exitAfterFlush(logger, 0);
  };

  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Exits once pending log lines are written (the stdout destination writes once per event-loop turn). */
function exitAfterFlush(logger: Logger, code: number): void {
  logger.flush(() => process.exit(code));
}

/**
 * Fail safe: an uncaught exception leaves the process in a state nobody knows, so it is logged as
 * one fatal line and the process exits 1 at once, for Kubernetes to restart it. Node's advice:
 * https://nodejs.org/api/process.html#warning-using-uncaughtexception-correctly
 *
 * No 'unhandledRejection' listener, on purpose: without one, Node (since 15,
 * --unhandled-rejections=throw) raises an unhandled rejection as an uncaught exception, which
 * lands here with origin 'unhandledRejection'. A listener would silence that default and let
 * the process serve on after a failure no code expected, the very thing this guard prevents.
 */
export function installCrashGuards(logger: Logger): void {
  process.on('uncaughtException', (error, origin) => {
    logger.fatal({ err: crashSummary(error), origin }, 'uncaught exception: exiting');
    // Synchronous: the stdout destination writes its pending lines now (and again on exit; a
    // pino transport flushes on exit too). Nothing async runs after an uncaught exception.
    logger.flush();
    process.exit(1);
  });
}

/**
 * The error's class, message and stack, and nothing else: pino's err serializer prints every own
 * property of an error too, and an HTTP client's error carries the request it sent, headers (the
 * server key) included. A copy on the same prototype keeps the class name pino reports as `type`.
 */
function crashSummary(error: unknown): object {
  if (error instanceof Error) {
    return Object.create(Object.getPrototypeOf(error) as object, {
      message: { value: error.message },
      stack: { value: error.stack },
    }) as object;
  }
  try {
    return { type: typeof error, value: String(error) };
  } catch {
    // String() throws on an object without a prototype; a throw here would exit with Node's 7, unlogged.
    return { type: typeof error };
  }
}
