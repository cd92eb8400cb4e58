import 'reflect-metadata';
import { startApp } from './app.factory';
import { ConfigError, loadConfig } from './config/load-config';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const { app } = await startApp(config);
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
}

void main().catch((error: unknown) => {
  process.stderr.write(`superfone-bff failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
