/**
 * `npm run build`'s last step: bundles the compiled service (dist/src/main.js and everything it
 * imports from node_modules) into one file, dist/superfone-bff.js, which `npm start` and the image
 * run. Why: NestJS 12 is ES modules, about 400 files that Node resolves, reads and links one by one
 * at boot; with axios, ioredis, zod and the rest that is most of the time to ready. One file skips
 * the resolution and linking (a --cpu-prof of boot: `node:internal/modules` was the largest item).
 *
 * It bundles tsc's output, not the TypeScript: the decorator metadata Nest's injector reads is
 * already emitted there, and the per-file dist/ the tests and tools use stays as it is.
 */
import { build } from 'esbuild';
import { join } from 'node:path';
import { deferBootWork } from './bundle-deferrals';

const ROOT = join(__dirname, '..', '..');

/**
 * Left to node_modules, loaded when first used:
 * - what only the docs need (@nestjs/swagger and the files Swagger UI serves): a replica that never
 *   serves /docs never loads them (src/openapi/swagger-decorators.ts);
 * - pino-pretty, a development-only log format;
 * - optional peers Nest and its Fastify adapter import only for features this service does not use
 *   (microservices, websockets, Express, validation pipes, static files, views, multipart); they are
 *   not installed, and Nest reports them by name if a feature ever asks for one;
 * - what a feature the service never uses imports on demand: file-type (Nest's upload validator)
 *   and zod's locales (`z.locales`, see bundle-deferrals.ts). They are installed, and load from
 *   node_modules if ever asked for; left in the bundle, their source would sit in every replica's
 *   memory (about 450 KiB).
 */
export const EXTERNAL = [
  '@nestjs/swagger',
  'swagger-ui-dist',
  '@fastify/send',
  'pino-pretty',
  '@nestjs/microservices',
  '@nestjs/microservices/*',
  '@nestjs/websockets',
  '@nestjs/websockets/*',
  '@nestjs/platform-express',
  'class-transformer',
  'class-validator',
  '@fastify/static',
  '@fastify/view',
  '@fastify/multipart',
  'file-type',
  'zod/v4/locales',
];

/**
 * Bundles a compiled Nest entry point into one file. The bench bundles its minimal-Nest floor the
 * same way, so the two are compared as they would both ship (`everyDeferral: false` there: that app
 * does not import axios).
 */
export async function bundleNestApp(
  entry: string,
  outfile: string,
  { everyDeferral }: { everyDeferral: boolean },
): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    external: EXTERNAL,
    // Whitespace and syntax only: identifiers are not renamed, so stack traces and Nest's own
    // messages (which name classes) read as in the sources. Smaller source text is less for V8 to
    // scan at boot and to hold in the heap for the process's life. Not keepNames: it wraps every
    // function expression in a helper call, closures made per request included (a --cpu-prof of a
    // cache hit under load had that helper at 7 % of the CPU).
    minifyWhitespace: true,
    minifySyntax: true,
    // ES modules bundled as CommonJS have no import.meta; @nestjs/terminus builds a require() from
    // import.meta.url to find optional health-indicator packages. This file's URL serves.
    banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
    define: { 'import.meta.url': '__bundleUrl' },
    // What axios and Nest do at import for features this service never uses (see the file).
    plugins: [deferBootWork({ everyDeferral })],
    logLevel: 'warning',
  });
}

if (require.main === module)
  bundleNestApp(join(ROOT, 'dist', 'src', 'main.js'), join(ROOT, 'dist', 'superfone-bff.js'), {
    everyDeferral: true,
  }).catch((error: unknown) => {
    process.stderr.write(`bundle: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
