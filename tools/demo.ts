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
/** An app and a number of the stand-in's demo data, for the printed flow. */
const DEMO_APP_ID = 'sfv_app_demo00000001';
const DEMO_NUMBER = '+918000000001';

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
        scopes: ['numbers:read', 'numbers:refresh', 'apps:read', 'numbers:link'],
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
  process.stderr.write(banner(shown, standInUrl, config.redis.topology !== undefined));
}

/** What the demo prints: where things are, and the whole flow of a company app as curl lines. */
function banner(shown: string, standInUrl: string, withRedis: boolean): string {
  const auth = `-H 'Authorization: Bearer ${DEMO_CLIENT_KEY}'`;
  const app = DEMO_APP_ID;
  const number = DEMO_NUMBER.replace('+', '%2B');
  const control = `${standInUrl.replace(/\/superfone$/, '')}/__stand-in`;
  return [
    '',
    `superfone-bff demo is running (${withRedis ? 'Redis from the environment' : 'in-process cache, no Redis'}, Superfone stand-in).`,
    `  Superfone stand-in: ${standInUrl}  (state: GET ${control}/state)`,
    `  Demo client key:    ${DEMO_CLIENT_KEY} (every scope)`,
    '',
    '  # 1. the numbers no app uses yet, and the apps',
    `  curl -i ${auth} ${shown}/numbers/available`,
    `  curl -i ${auth} ${shown}/apps`,
    `  # 2. link one to an app: 201 and Location. The same request with the same Idempotency-Key`,
    `  #    replays this answer (Idempotent-Replayed: true) without calling Superfone: to link again later, use a new key`,
    `  curl -i ${auth} -H 'Idempotency-Key: "demo-link-1"' -H 'Content-Type: application/json' -d '{"voipNumber":"${DEMO_NUMBER}"}' ${shown}/apps/${app}/numbers`,
    "  # 3. it is gone from the available list and in the app's list",
    `  curl -s ${auth} ${shown}/numbers/available | grep -c '${DEMO_NUMBER}'   # 0`,
    `  curl -i ${auth} ${shown}/apps/${app}/numbers`,
    '  # 4. unlink it (204): available again',
    `  curl -i ${auth} -X DELETE ${shown}/apps/${app}/numbers/${number}`,
    `  curl -s ${auth} ${shown}/numbers/available | grep -c '${DEMO_NUMBER}'   # 1`,
    '',
    '  # Make Superfone apply the next link and then hang; send step 2 again with a new Idempotency-Key:',
    "  # after SUPERFONE_TIMEOUT_MS the service reads the app's list and answers 201 (audit line: reconciled)",
    `  curl -X POST -d '{"kind":"hang-after-apply"}' ${control}/enqueue/link`,
    '',
    `  curl -i -X POST -H 'X-API-Key: ${DEMO_CLIENT_KEY}' ${shown}/numbers/available/refresh`,
    `  curl -i ${shown}/health/ready`,
    '',
    'Ctrl-C stops it.',
    '',
  ].join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
});
