/**
 * Runs the Superfone stand-in as a process (docker-compose, demo, benchmarks), with the /__stand-in control API on
 * (stand-in-control.ts). It starts with the demo apps and STAND_IN_NUMBERS available numbers, none linked.
 * Env: SUPERFONE_API_KEY (or SUPERFONE_API_KEY_FILE; required), STAND_IN_PORT (4010), STAND_IN_HOST (127.0.0.1),
 * STAND_IN_DELAY_MS (0, every route), STAND_IN_NUMBERS (24).
 */
import { readFileSync } from 'node:fs';
import { demoNumbers, SuperfoneStandIn } from './superfone-stand-in';

function fail(message: string): never {
  console.error(`superfone stand-in: ${message}`);
  process.exit(1);
}

function intFromEnv(name: string, fallback: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > max)
    fail(`${name} must be an integer from 0 to ${max}`);
  return value;
}

function apiKeyFromEnv(): string {
  const direct = process.env.SUPERFONE_API_KEY;
  if (direct) return direct;
  const file = process.env.SUPERFONE_API_KEY_FILE;
  if (!file) fail('SUPERFONE_API_KEY is required (or SUPERFONE_API_KEY_FILE)');
  let key: string;
  try {
    key = readFileSync(file, 'utf8').trim();
  } catch {
    fail('SUPERFONE_API_KEY_FILE cannot be read');
  }
  if (!key) fail('SUPERFONE_API_KEY_FILE is empty');
  return key;
}

async function main(): Promise<void> {
  const apiKey = apiKeyFromEnv();
  const port = intFromEnv('STAND_IN_PORT', 4010, 65535);
  const host = process.env.STAND_IN_HOST || '127.0.0.1';
  const delayMs = intFromEnv('STAND_IN_DELAY_MS', 0, 600_000);
  const count = intFromEnv('STAND_IN_NUMBERS', 24, 100_000);

  const standIn = new SuperfoneStandIn({
    apiKey,
    numbers: demoNumbers(count),
    control: true,
    defaultBehaviour: { kind: 'ok', delayMs },
    // Nothing out of process can read recorded requests, and benchmarks would make them grow without bound.
    maxRecordedRequests: 0,
  });
  const baseUrl = await standIn.start(port, host);
  console.log(`superfone stand-in listening on ${baseUrl}`);

  const shutdown = (): void => {
    standIn.stop().then(
      () => process.exit(0),
      (error: unknown) =>
        fail(`stop failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
