/**
 * `npm run demo`: the service on its embedded defaults, no setup needed. It starts the Superfone
 * stand-in on a free port, then the service (in-process cache, no Redis) with a demo client key,
 * and prints a ready curl line. Any setting can still be overridden from the environment.
 */
import 'reflect-metadata';
import { startApp } from '../src/app.factory';
import { sha256 } from '../src/auth/client-keys';
import { ConfigError, loadConfig } from '../src/config/load-config';
import { AppLogger } from '../src/logging/app-logger';
import { installCrashGuards, installGracefulShutdown } from '../src/shutdown/graceful-shutdown';
import { SuperfoneStandIn } from './superfone-stand-in/superfone-stand-in';

/** Documented in the README and docker-compose's demo profile; never use it beyond localhost. */
export const DEMO_CLIENT_KEY = 'demo-client-key-for-local-use-only';
const DEMO_SUPERFONE_KEY = 'demo-superfone-key';

async function main(): Promise<void> {
  const standIn = new SuperfoneStandIn({ apiKey: DEMO_SUPERFONE_KEY, control: true });
  const standInUrl = await standIn.start();
  const config = loadConfig({
    PORT: '3000',
    // Ctrl-C should stop a demo at once; production keeps the 5 s drain delay.
    SHUTDOWN_DELAY_MS: '0',
    SUPERFONE_BASE_URL: standInUrl,
    SUPERFONE_API_KEY: DEMO_SUPERFONE_KEY,
    CLIENT_KEYS: JSON.stringify([
      {
        id: 'demo-app',
        keySha256: sha256(DEMO_CLIENT_KEY).toString('hex'),
        scopes: ['numbers:read', 'numbers:refresh'],
      },
    ]),
    ...process.env,
  });
  const { app, url } = await startApp(config);
  const logger = app.get(AppLogger).child('demo');
  installCrashGuards(logger);
  installGracefulShutdown(app, config, logger);
  app.getHttpServer().once('close', () => void standIn.stop());

  const shown = url.replace('127.0.0.1', 'localhost');
  // Boot's log lines are still waiting for the end of this event-loop turn: write them first, so the banner comes last.
  logger.flush();
  process.stderr.write(
    [
      '',
      'superfone-bff demo is running (in-process cache, Superfone stand-in, no Redis).',
      `  Superfone stand-in: ${standInUrl}  (script it: POST ${standInUrl.replace('/superfone', '')}/__stand-in/behaviour)`,
      `  Demo client key:    ${DEMO_CLIENT_KEY}`,
      '',
      `  curl -i -H 'Authorization: Bearer ${DEMO_CLIENT_KEY}' ${shown}/numbers/available`,
      `  curl -i -X POST -H 'X-API-Key: ${DEMO_CLIENT_KEY}' ${shown}/numbers/available/refresh`,
      `  curl -i ${shown}/health/ready`,
      '',
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
});
