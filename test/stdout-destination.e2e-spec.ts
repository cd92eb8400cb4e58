import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const destinationModule = join(__dirname, '..', 'dist', 'src', 'logging', 'stdout-destination.js');

/** Runs `body` in a fresh Node process whose `logger` is pino on the production stdout destination; resolves its stdout lines. */
async function linesFrom(body: string): Promise<string[]> {
  const script = `
    const pino = require(${JSON.stringify(require.resolve('pino'))});
    const { StdoutDestination } = require(${JSON.stringify(destinationModule)});
    const logger = pino({ base: null, timestamp: false }, new StdoutDestination());
    ${body}`;
  const { stdout } = await run(process.execPath, ['-e', script], { maxBuffer: 16 * 1024 * 1024 });
  return stdout.split('\n').filter((line) => line !== '');
}

/** The production stdout destination writes once per event-loop turn: these check that no line is lost or torn on the way. */
describe('stdout log destination', () => {
  beforeAll(() => {
    if (!existsSync(destinationModule))
      throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  });

  it('writes lines logged in the same turn as process.exit()', async () => {
    const lines = await linesFrom(
      `logger.info('one'); logger.error('two'); process.exit(3);`,
    ).catch((error: { code: number; stdout: string }) => {
      expect(error.code).toBe(3);
      return error.stdout.split('\n').filter((line) => line !== '');
    });

    expect(lines.map((line) => JSON.parse(line).msg)).toEqual(['one', 'two']);
  });

  it('writes every line of busy turns whole and in order', async () => {
    const lines = await linesFrom(`
      let n = 0;
      const turn = () => { for (let i = 0; i < 500; i++) logger.info({ n: n++ }, 'x'.repeat(200)); if (n < 5000) setImmediate(turn); };
      turn();`);

    expect(lines).toHaveLength(5000);
    expect(lines.map((line) => JSON.parse(line).n)).toEqual(
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
