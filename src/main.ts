import 'reflect-metadata';
import { startApp } from './app.factory';
import { AppConfig } from './config/app-config';
import { ConfigError, loadConfig } from './config/load-config';
import { AppLogger } from './logging/app-logger';
import { installCrashGuards, installGracefulShutdown } from './shutdown/graceful-shutdown';

function configOrExit(): AppConfig {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = configOrExit();
  const { app } = await startApp(config);
  const logger = app.get(AppLogger).child('main');
  installCrashGuards(logger);
  installGracefulShutdown(app, config, logger);
}

void main().catch((error: unknown) => {
  process.stderr.write(
    `superfone-bff failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
