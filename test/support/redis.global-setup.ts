import { redisAnswers, redisServerAvailable, startOwnedRedis } from './redis-server';

/**
 * Finds the Redis the e2e suites use and publishes it as TEST_REDIS_URL: REDIS_URL (or the
 * conventional 127.0.0.1:6379) when it answers, else a redis-server started for this run.
 */
export default async function globalSetup(): Promise<void> {
  const candidate = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await redisAnswers(candidate)) {
    process.env.TEST_REDIS_URL = candidate;
    return;
  }
  if (!redisServerAvailable()) {
    throw new Error(
      `No Redis answered at ${new URL(candidate).host} and redis-server is not installed. ` +
        'Set REDIS_URL to a reachable Redis or install redis-server (apt-get install -y redis-server).',
    );
  }
  const owned = await startOwnedRedis();
  process.env.TEST_REDIS_URL = owned.url;
  (globalThis as { __ownedRedis?: typeof owned }).__ownedRedis = owned;
}
