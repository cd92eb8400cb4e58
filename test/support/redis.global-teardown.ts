import type { OwnedRedis } from './redis-server';

/** Stops the redis-server the global setup started, if it started one. */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __ownedRedis?: OwnedRedis }).__ownedRedis?.stop();
}
