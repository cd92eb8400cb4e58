// @ts-check
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Mutation testing with StrykerJS: `npm run mutate` (not part of `npm test`). Report in
 * reports/mutation/mutation.html (and .json).
 *
 * Two sets, each with the specs that exercise it (their unit specs and the e2e suites that drive
 * that code through the real app in jest's process):
 *
 *   npm run mutate          src/auth, src/rate-limit, src/common: who may call, how often, and
 *                           what every answer looks like;
 *   npm run mutate:cache    src/cache and src/redis: freshness rules, the refresh lock, the Lua
 *                           scripts against real Redis, deadlines (about 35 min on 2 cores).
 *
 * Other folders, from the command line:
 *
 *   npm run mutate -- --mutate 'src/auth/**\/*.ts'
 *       every in-process spec is a candidate (a slower dry run; per-test coverage still runs each
 *       mutant against only the tests that reach it);
 *   MUTATE_SPECS='src/auth/*.spec.ts,test/auth.e2e-spec.ts' npm run mutate -- --mutate 'src/auth/**\/*.ts'
 *       only those specs (globs relative to the repository root), much faster.
 *
 * Not `--testFiles`: with it, Stryker 9.6 gives static mutants a filter of file names that jest
 * takes for test names, runs no test and reports them as survived (stryker-js #6144, #6209). The
 * spec list goes to jest as testMatch instead, so `--findRelatedTests` never leaves it either.
 *
 * Jest needs --experimental-vm-modules here (Nest 12 is ESM), as in `npm test`. The Redis the specs
 * use is found or started by jest's globalSetup, as in `npm test`.
 */

/** What each set mutates, and the specs that exercise it. */
const EDGE = {
  mutate: ['src/auth/**/*.ts', 'src/rate-limit/**/*.ts', 'src/common/**/*.ts'],
  specs: [
    'src/auth/*.spec.ts',
    'src/common/*.spec.ts',
    'test/auth.e2e-spec.ts',
    // The 401 delay (src/auth/auth-failure-delay.ts) through the real app: timing, hang-ups, close.
    'test/refused-requests.e2e-spec.ts',
    'test/rate-limit.e2e-spec.ts',
    'test/numbers.e2e-spec.ts',
    'test/openapi.e2e-spec.ts',
    'test/hostile-input.e2e-spec.ts',
    'test/framework-errors.e2e-spec.ts',
    'test/upstream-errors.e2e-spec.ts',
    'test/tracing.e2e-spec.ts',
    'test/logging.e2e-spec.ts',
    'test/redis-gray-failures.e2e-spec.ts',
    'test/redis-outage.e2e-spec.ts',
    // The apps routes' shapes (src/common/sfvopi-app.ts, app-number-link.ts) and their problems.
    'test/number-links.e2e-spec.ts',
    'test/superfone-client.e2e-spec.ts',
  ],
};
const CACHE = {
  mutate: ['src/cache/**/*.ts', 'src/redis/**/*.ts'],
  specs: [
    'src/cache/*.spec.ts',
    'src/redis/*.spec.ts',
    'test/redis-scripts.e2e-spec.ts',
    'test/cache-tier.e2e-spec.ts',
    'test/replicas.e2e-spec.ts',
    'test/redis-cache.e2e-spec.ts',
    'test/redis-outage.e2e-spec.ts',
  ],
};
const preset = process.env.MUTATE_SET === 'cache' ? CACHE : EDGE;

const argv = process.argv.slice(2);
if (argv.some((arg) => arg === '--testFiles' || arg === '-t' || arg.startsWith('--testFiles='))) {
  throw new Error(
    'stryker.config.mjs: use MUTATE_SPECS=<globs> instead of --testFiles (static mutants would be reported as survived, stryker-js #6144)',
  );
}
const mutateFromCli = argv.some(
  (arg) => arg === '--mutate' || arg === '-m' || arg.startsWith('--mutate='),
);

/**
 * Every spec that runs the code in jest's own process: not the suites that start the built
 * service (dist/) in a child process, which no mutant reaches, nor test/packaging and the like.
 */
function inProcessSpecs() {
  const e2e = readdirSync('test')
    .filter((name) => name.endsWith('.e2e-spec.ts'))
    .filter(
      (name) =>
        !/service-process|['"]dist['"]|dist\/src/.test(readFileSync(`test/${name}`, 'utf8')),
    )
    .map((name) => `test/${name}`);
  return ['src/**/*.spec.ts', 'tools/**/*.spec.ts', ...e2e];
}

const specs = process.env.MUTATE_SPECS
  ? process.env.MUTATE_SPECS.split(',')
      .map((glob) => glob.trim())
      .filter(Boolean)
  : mutateFromCli
    ? inProcessSpecs()
    : preset.specs;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  packageManager: 'npm',
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    config: { testRegex: [], testMatch: specs.map((glob) => `<rootDir>/${glob}`) },
    enableFindRelatedTests: true,
  },
  mutate: [...preset.mutate, '!**/*.spec.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  ignorePatterns: ['dist', 'coverage', 'bench/results', 'reports', '*.cpuprofile', '.env'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  thresholds: { high: 90, low: 80, break: null },
};

export default config;
