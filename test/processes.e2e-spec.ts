import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from '@jest/globals';
import { z } from 'zod';
import { findClient, indexClients } from '../src/auth/client-keys';
import { parseClientKeys } from '../src/config/client-keys';
import { parseJson } from './support/bodies';
import { exitOf } from './support/exec';

const run = promisify(execFile);
/** A CLIENT_KEYS entry as issue-client-key prints it (the exact fields are asserted below). */
const clientKeyEntry = z.looseObject({
  id: z.string(),
  keySha256: z.string(),
  scopes: z.array(z.string()),
});
const dist = join(__dirname, '..', 'dist');

/** The built entry points, as operators run them (`npm test` builds first). */
describe('built commands', () => {
  beforeAll(() => {
    if (!existsSync(join(dist, 'superfone-bff.js')))
      throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  });

  it('refuses to start on bad config, naming each setting and exiting non-zero', async () => {
    const failure = await exitOf(
      run(process.execPath, [join(dist, 'superfone-bff.js')], {
        env: {
          PATH: process.env.PATH,
          PORT: '99999',
          SUPERFONE_API_KEY: 'sk-should-not-print',
          CLIENT_KEYS: '{oops',
        },
      }),
    );

    expect(failure.code).toBe(1);
    expect(failure.stderr).toContain('Invalid configuration');
    expect(failure.stderr).toContain('PORT must be a whole number');
    expect(failure.stderr).toContain('CLIENT_KEYS is not valid JSON');
    expect(failure.stderr + failure.stdout).not.toContain('sk-should-not-print');
  });

  it('issues a client key with the CLIENT_KEYS entry that admits it', async () => {
    const { stdout } = await run(process.execPath, [
      join(dist, 'src', 'cli', 'issue-client-key.js'),
      'billing-app',
      'numbers:read',
      'numbers:refresh',
    ]);

    const key = /^\s+(sfb_\S+)$/m.exec(stdout)?.[1];
    const entryLine = /^\s+(\{.*\})$/m.exec(stdout)?.[1];
    if (key === undefined || entryLine === undefined)
      throw new Error(`no key or no CLIENT_KEYS entry in:\n${stdout}`);
    const entry = parseJson(entryLine, clientKeyEntry, 'the printed CLIENT_KEYS entry');
    expect(entry).toEqual({
      id: 'billing-app',
      keySha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      scopes: ['numbers:read', 'numbers:refresh'],
    });
    expect(
      findClient(indexClients(parseClientKeys(JSON.stringify([entry]), 'CLIENT_KEYS', [])), key)
        ?.id,
    ).toBe('billing-app');
  });

  it('rejects an unknown scope when issuing a key', async () => {
    const failure = await exitOf(
      run(process.execPath, [
        join(dist, 'src', 'cli', 'issue-client-key.js'),
        'x',
        'numbers:write',
      ]),
    );

    expect(failure.code).toBe(2);
    expect(failure.stderr).toContain('usage: issue-client-key');
  });
});
