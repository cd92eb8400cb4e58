import { createHash } from 'node:crypto';
import { CacheKeys } from './cache-keys';

describe(CacheKeys.name, () => {
  const fingerprint = createHash('sha256').update('server-key').digest('hex').slice(0, 16);

  it('keeps the available-numbers keys as they were, so a rolling upgrade shares the copy and the lock', () => {
    const keys = new CacheKeys('p:', 'server-key');

    expect(keys.numbers).toBe(`p:{${fingerprint}}:available-numbers`);
    expect(keys.refreshLock).toBe(`p:{${fingerprint}}:available-numbers:refresh-lock`);
    expect(keys.forResource('available-numbers')).toEqual({
      copy: keys.numbers,
      refreshLock: keys.refreshLock,
    });
  });

  it("gives each resource its own copy and lock, in the fingerprint's hash slot", () => {
    const keys = new CacheKeys('p:', 'server-key');

    expect(keys.forResource('apps')).toEqual({
      copy: `p:{${fingerprint}}:apps`,
      refreshLock: `p:{${fingerprint}}:apps:refresh-lock`,
    });
    expect(keys.forResource('app-numbers:app-1').copy).toBe(`p:{${fingerprint}}:app-numbers:app-1`);
  });
});
