/**
 * Work that axios and @nestjs/common do the moment they are imported, for features this service
 * never uses, left out of the bundle (tools/bundle.ts). Each costs resident memory for the life of every
 * replica, and boot time; none changes what the service does. Measured on the bundle, interleaved
 * boots (bench/README.md, "Memory and boot"):
 *
 * - axios touches `globalThis.FormData` and probes its fetch adapter (a Request and a Response
 *   around a ReadableStream) at import. Either loads Node's undici and web streams: about 2 MiB
 *   resident and 25 ms of boot CPU in the service. The service selects axios's `http` adapter
 *   (keep-alive agents, src/superfone/superfone.module.ts) and never sends FormData; the fetch
 *   adapter, if ever asked for by name, still probes then.
 * - @nestjs/common builds two Intl.DateTimeFormat at import, for the timestamps of Nest's console
 *   logger, which this service replaces with pino: building them reads ICU's locale data out of the
 *   node binary, about 5 MiB of resident pages. Here they are built on first use instead.
 * - axios imports form-data for the FormData it builds when asked to send an object as multipart;
 *   form-data brings mime-types and its database of some 2,400 types. Here form-data loads when a
 *   FormData is first built or looked at.
 * - zod evaluates the messages of its 40-odd locales at import, for `z.locales`, which the service
 *   never reads (it keeps zod's default English messages, imported on their own). Here `locales`
 *   is a getter that loads them from node_modules when first read.
 *
 * Each edit names the exact text it replaces, and the build fails, naming the file, if that text
 * is not there exactly once: a dependency update that moves it is reviewed, never silently bundled
 * with the cost back.
 */
import type { Plugin } from 'esbuild';
import { readFile } from 'node:fs/promises';

interface Deferral {
  /** The file, by its path under node_modules. */
  readonly file: string;
  readonly find: string;
  readonly replace: string;
}

/** A formatter with DateTimeFormat's `format`, built when first asked to format. */
const LAZY_DATE_TIME_FORMAT =
  '((locales, options) => { let built; return { format: (date) => (built ??= new Intl.DateTimeFormat(locales, options)).format(date) }; })(';

/**
 * form-data's class, loaded on first use: the Proxy forwards construction, static properties and
 * `instanceof` to it (V8's instanceof reads `prototype` through the get trap).
 */
const LAZY_FORM_DATA =
  "let FormDataClass; const loadFormData = () => (FormDataClass ??= require('form-data')); " +
  'const FormData = new Proxy(function FormData() {}, { ' +
  'construct: (_, args) => Reflect.construct(loadFormData(), args), ' +
  'get: (_, key) => loadFormData()[key], ' +
  'has: (_, key) => key in loadFormData() });';

/**
 * A CommonJS export read when first asked for, not at import. Not configurable: zod seals its
 * exports at the end of each module by calling every configurable getter, which would load it then.
 */
const lazyExport = (name: string, module: string): string =>
  `Object.defineProperty(exports, "${name}", { enumerable: true, configurable: false, get: () => __importStar(require("${module}")) });`;

const DEFERRALS: readonly Deferral[] = [
  {
    file: 'axios/lib/utils.js',
    find: "const FormDataCtor = typeof G.FormData !== 'undefined' ? G.FormData : undefined;",
    // isFormData still recognizes a FormData by its [object FormData] tag.
    replace: 'const FormDataCtor = undefined;',
  },
  {
    file: 'axios/lib/adapters/fetch.js',
    // The module's default export, which nothing imports: axios's adapters.js reaches the fetch
    // adapter through getFetch, only when it is asked for by name, and getFetch still probes then.
    find: 'const adapter = getFetch();',
    replace: 'const adapter = undefined;',
  },
  {
    file: 'axios/lib/platform/node/classes/FormData.js',
    find: "import FormData from 'form-data';",
    replace: LAZY_FORM_DATA,
  },
  ...['v4/classic/external.cjs', 'v4/core/index.cjs'].map((name) => ({
    file: `zod/${name}`,
    find: 'exports.locales = __importStar(require("../locales/index.cjs"));',
    // By zod's own export, left outside the bundle (tools/bundle.ts): if ever read, the locales
    // load from node_modules, and their 360 KiB of source is not in every replica's memory.
    replace: lazyExport('locales', 'zod/v4/locales'),
  })),
  ...['logger.service.js', 'console-logger.service.js'].map((name) => ({
    file: `@nestjs/common/services/${name}`,
    find: 'const dateTimeFormatter = new Intl.DateTimeFormat(',
    replace: `const dateTimeFormatter = ${LAZY_DATE_TIME_FORMAT}`,
  })),
];

/** Matches `file` under any node_modules directory, with either path separator. */
function filterFor(file: string): RegExp {
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replaceAll('/', '[\\\\/]');
  return new RegExp(`[\\\\/]node_modules[\\\\/]${escaped}$`);
}

/**
 * The esbuild plugin. `everyDeferral`: fail unless every file above was bundled (the service); off
 * for an app that imports only some of these dependencies.
 */
export function deferBootWork({ everyDeferral }: { everyDeferral: boolean }): Plugin {
  return {
    name: 'defer-boot-work',
    setup(bundle) {
      const loaded = new Set<string>();
      for (const file of new Set(DEFERRALS.map((d) => d.file))) {
        bundle.onLoad({ filter: filterFor(file) }, async (args) => {
          loaded.add(file);
          let source = await readFile(args.path, 'utf8');
          for (const deferral of DEFERRALS.filter((d) => d.file === file)) {
            if (source.split(deferral.find).length !== 2)
              throw new Error(
                `${args.path} no longer contains "${deferral.find}" exactly once: review tools/bundle-deferrals.ts`,
              );
            source = source.replace(deferral.find, () => deferral.replace);
          }
          return { contents: source, loader: 'js' };
        });
      }
      // A file the bundle stopped loading (a dependency now resolved elsewhere) is reviewed too.
      bundle.onEnd(() => {
        if (!everyDeferral) return {};
        const missed = new Set(DEFERRALS.map((d) => d.file).filter((file) => !loaded.has(file)));
        if (missed.size === 0) return {};
        return {
          errors: [
            {
              text: `not bundled from node_modules any more: ${[...missed].join(', ')}; review tools/bundle-deferrals.ts`,
            },
          ],
        };
      });
    },
  };
}
