import { expect } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { exitOf } from './support/exec';
import { Harness, startHarness } from './support/test-app';

/**
 * openapi.json is the contract company apps generate clients from: it is the document the
 * service serves, Redocly's recommended rules find nothing in it, and the TypeScript client in
 * clients/typescript is generated from it, builds and packs.
 */
const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const COMMITTED = join(ROOT, 'openapi.json');
const CLIENT = join(ROOT, 'clients', 'typescript');
const clientTools = join(CLIENT, 'node_modules', '.bin');
const clientInstalled = existsSync(join(clientTools, 'openapi-typescript'));
const withClientTools = clientInstalled ? it : it.skip;

describe('openapi.json', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ withoutRedis: true });
  });
  afterAll(async () => {
    await h.close();
  });

  it('is the document the service serves at /docs-json (npm run openapi writes it)', async () => {
    const served: unknown = await (await h.get('/docs-json')).json();
    const committed: unknown = JSON.parse(readFileSync(COMMITTED, 'utf8'));
    // On a difference: run `npm run openapi` and commit openapi.json with the change that caused it.
    expect(served).toEqual(committed);
  });

  it("passes Redocly's recommended ruleset (redocly.yaml) with no error and no warning", async () => {
    const redocly = join(ROOT, 'node_modules', '.bin', 'redocly');
    const result = await exitOf(
      run(redocly, ['lint', 'openapi.json', '--format=json'], { cwd: ROOT }),
    );
    const report = z
      .looseObject({ totals: z.object({ errors: z.number(), warnings: z.number() }) })
      .parse(JSON.parse(result.stdout));
    expect(report.totals).toEqual({ errors: 0, warnings: 0 });
    expect(result.code).toBe(0);
  });

  it("a broken document fails Redocly's rules (so the check above can fail)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
    try {
      const broken = JSON.parse(readFileSync(COMMITTED, 'utf8')) as { servers?: unknown };
      broken.servers = [];
      const file = join(dir, 'openapi.json');
      await import('node:fs/promises').then((fs) => fs.writeFile(file, JSON.stringify(broken)));
      const result = await exitOf(
        run(join(ROOT, 'node_modules', '.bin', 'redocly'), ['lint', file, '--format=json'], {
          cwd: ROOT,
        }),
      );
      expect(result.code).not.toBe(0);
      expect(result.stdout).toContain('no-empty-servers');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe(`the TypeScript client (${clientInstalled ? 'clients/typescript' : 'absent: npm ci --prefix clients/typescript; its tests are skipped'})`, () => {
  withClientTools(
    'src/schema.ts is what openapi-typescript generates from openapi.json',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'client-'));
      try {
        const out = join(dir, 'schema.ts');
        const result = await exitOf(
          run(join(clientTools, 'openapi-typescript'), ['../../openapi.json', '--output', out], {
            cwd: CLIENT,
          }),
        );
        expect(result.code).toBe(0);
        // On a difference: `npm run generate` in clients/typescript, and commit src/schema.ts.
        expect(readFileSync(join(CLIENT, 'src', 'schema.ts'), 'utf8')).toBe(
          readFileSync(out, 'utf8'),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  withClientTools(
    'builds with its own TypeScript and packs dist/ (npm pack)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'client-pack-'));
      try {
        const packed = await exitOf(
          run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: CLIENT }),
        );
        expect(packed.code).toBe(0);
        const files = z
          .array(z.looseObject({ files: z.array(z.object({ path: z.string() })) }))
          .parse(JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))))[0]
          .files.map((f) => f.path)
          .sort();
        expect(files).toEqual([
          'README.md',
          'dist/index.d.ts',
          'dist/index.js',
          'dist/schema.d.ts',
          'dist/schema.js',
          'package.json',
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        rmSync(join(CLIENT, 'dist'), { recursive: true, force: true });
      }
    },
    120_000,
  );
});
