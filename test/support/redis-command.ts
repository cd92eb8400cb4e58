import { Redis, type RedisOptions } from 'ioredis';

/**
 * Runs one command on a short-lived connection (the test's own view of Redis): `target` is a URL
 * or connection options (host, port, tls…), `options` adds credentials or TLS.
 */
export async function redisCommand(
  target: string | RedisOptions,
  args: (string | number)[],
  options: RedisOptions = {},
): Promise<unknown> {
  const settings = {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...options,
  };
  const redis =
    typeof target === 'string'
      ? new Redis(target, settings)
      : new Redis({ ...target, ...settings });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await redis.call(String(args[0]), ...args.slice(1));
  } finally {
    if (redis.status !== 'end') redis.disconnect();
  }
}
