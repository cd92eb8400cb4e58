import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { EXTERNAL } from '../tools/bundle';
import { deferBootWork } from '../tools/bundle-deferrals';

/**
 * What tools/bundle-deferrals.ts defers still works when asked for: a program bundled with the
 * plugin and the externals of the service's bundle, and run. form-data is left outside this bundle so that Node's own
 * require.cache shows when it loads.
 */
const PROGRAM = `
import axios from 'axios';
// The service's own code is tsc's CommonJS: it requires zod's .cjs files.
const { z } = require('zod');
const loaded = () => Object.keys(require.cache).some((path) => path.includes('form-data'));
const report = { formDataAtImport: loaded() };
const form = axios.toFormData({ number: '+918000000001' });
report.formDataAfterUse = loaded();
report.multipart = form.getHeaders()['content-type'];
// The class axios keeps (the deferral's stand-in for form-data's) answers as form-data's does.
const PlatformFormData = axios.defaults.env.FormData;
report.instanceOfFormData = form instanceof PlatformFormData && form instanceof require('form-data');
report.lineBreak = PlatformFormData.LINE_BREAK;
report.zodLocalesOnDemand = typeof Object.getOwnPropertyDescriptor(z, 'locales').get === 'function';
const french = z.string().safeParse(1, { error: z.locales.fr().localeError });
report.french = french.error.issues[0].message;
report.english = z.string().safeParse(1).error.issues[0].message;
process.stdout.write(JSON.stringify(report));
`;

describe('bundle deferrals', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bundle-deferrals-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('axios still builds a FormData, loading form-data then; zod still has its locales', async () => {
    // An ES module, as Nest's imports of axios are: they resolve to axios's lib/ sources.
    const entry = join(dir, 'program.mjs');
    writeFileSync(entry, PROGRAM);
    const outfile = join(dir, 'program.bundle.js');
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      // What the service's bundle leaves outside (zod's locales among them), and form-data.
      external: [...EXTERNAL, 'form-data'],
      nodePaths: [join(__dirname, '..', 'node_modules')],
      plugins: [deferBootWork({ everyDeferral: false })],
      logLevel: 'silent',
    });
    const report = JSON.parse(
      execFileSync(process.execPath, [outfile], {
        cwd: join(__dirname, '..'),
        encoding: 'utf8',
        env: { ...process.env, NODE_PATH: join(__dirname, '..', 'node_modules') },
      }),
    ) as Record<string, string | boolean>;
    const { multipart, french, english, ...facts } = report;
    expect(facts).toEqual({
      formDataAtImport: false,
      zodLocalesOnDemand: true,
      formDataAfterUse: true,
      instanceOfFormData: true,
      lineBreak: '\r\n',
    });
    expect(multipart).toMatch(/^multipart\/form-data; boundary=/);
    expect(french).toMatch(/^Entrée invalide/);
    expect(english).toMatch(/^Invalid input/);
  });
});
