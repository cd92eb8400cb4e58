import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { parseJson } from './support/bodies';
import { Exit, exitOf } from './support/exec';

const run = promisify(execFile);
const destinationModule = join(__dirname, '..', 'dist', 'src', 'logging', 'stdout-destination.js');

/** Runs `body` in a fresh Node process whose `logger` is pino on the production stdout destination; resolves its exit code and stdout lines. */
async function runLogging(body: string): Promise<{ code: Exit['code']; lines: string[] }> {
  const script = `
    const pino = require(${JSON.stringify(require.resolve('pino'))});
    const { StdoutDestination } = require(${JSON.stringify(destinationModule)});
    const logger = pino({ base: null, timestamp: false }, new StdoutDestination());
    ${body}`;
  const { code, stdout } = await exitOf(
    run(process.execPath, ['-e', script], { maxBuffer: 16 * 1024 * 1024 }),
  );
  return { code, lines: stdout.split('\n').filter((line) => line !== '') };
}

/** The stdout lines of `body` (see runLogging), which must exit 0. */
async function linesFrom(body: string): Promise<string[]> {
  const { code, lines } = await runLogging(body);
  expect(code).toBe(0);
  return lines;
}

const message = z.looseObject({ msg: z.string() });
const numbered = z.looseObject({ n: z.number() });

/** The production stdout destination writes once per event-loop turn: these check that no line is lost or torn on the way. */
describe('stdout log destination', () => {
  beforeAll(() => {
    if (!existsSync(destinationModule))
      throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  });

  it('writes lines logged in the same turn as process.exit()', async () => {
    const { code, lines } = await runLogging(
      `logger.info('one'); logger.error('two'); process.exit(3);`,
    );

    expect(code).toBe(3);
    expect(lines.map((line) => parseJson(line, message).msg)).toEqual(['one', 'two']);
  });

  it('writes every line of busy turns whole and in order', async () => {
    const lines = await linesFrom(`
      let n = 0;
      const turn = () => { for (let i = 0; i < 500; i++) logger.info({ n: n++ }, 'x'.repeat(200)); if (n < 5000) setImmediate(turn); };
      turn();`);

    expect(lines).toHaveLength(5000);
    expect(lines.map((line) => parseJson(line, numbered).n)).toEqual(
      Array.from({ length: 5000 }, (_, i) => i),
    );
  });

  it('has written everything logged once logger.flush() calls back', async () => {
    const lines = await linesFrom(`
      logger.info('before flush');
      logger.flush(() => { require('node:fs').writeSync(1, 'flushed\\n'); process.exit(0); });`);

    expect(lines).toEqual([expect.stringContaining('"before flush"'), 'flushed']);
  });
});
