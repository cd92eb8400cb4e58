/**
 * Static checks of the Helm chart (no helm binary needed): YAML parses, values validate against the
 * schema, templates only reference values that exist, and the security and probe contract holds.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { parse, parseDocument } from 'yaml';
import { SCOPES } from '../../src/config/client-keys';

const ROOT = join(__dirname, '..', '..');
const CHART = join(ROOT, 'helm', 'superfone-bff');
const TEMPLATES = join(CHART, 'templates');

type Tree = Record<string, unknown>;

const read = (path: string): string => readFileSync(path, 'utf8');
const isObject = (v: unknown): v is Tree =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/** Helm's merge: maps merge key by key, anything else (lists included) is replaced. */
function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const under = base[key];
    out[key] = isObject(value) && isObject(under) ? merge(under, value) : value;
  }
  return out;
}

function get(tree: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>(
    (node, key) => (isObject(node) && key in node ? node[key] : undefined),
    tree,
  );
}

function has(tree: unknown, path: readonly string[]): boolean {
  let node = tree;
  for (const key of path) {
    if (!isObject(node) || !(key in node)) return false;
    node = node[key];
  }
  return true;
}

/** Every `.Values.x.y` path a template reads, including through `$v := .Values.x` aliases. */
function valuePathsUsed(text: string): string[][] {
  const paths: string[][] = [];
  const aliases = new Map<string, string[]>();
  const token = /\$(\w+)\s*:=\s*\.Values((?:\.\w+)+)|\.Values((?:\.\w+)+)|\$(\w+)((?:\.\w+)+)/g;
  for (const m of text.matchAll(token)) {
    if (m[1]) {
      const path = m[2].slice(1).split('.');
      aliases.set(m[1], path);
      paths.push(path);
    } else if (m[3]) {
      paths.push(m[3].slice(1).split('.'));
    } else if (m[4]) {
      const alias = aliases.get(m[4]);
      if (alias) paths.push([...alias, ...m[5].slice(1).split('.')]);
    }
  }
  return paths;
}

/** The body of one `define` in _helpers.tpl. */
function defineBody(name: string): string {
  const helpers = read(join(TEMPLATES, '_helpers.tpl'));
  const start = helpers.indexOf(`{{- define "${name}" -}}`);
  if (start < 0) throw new Error(`no define ${name}`);
  return helpers.slice(start, helpers.indexOf('{{- end }}', start));
}

const values = parse(read(join(CHART, 'values.yaml'))) as Tree;
const schema = JSON.parse(read(join(CHART, 'values.schema.json'))) as object;
const ciFiles = readdirSync(join(CHART, 'ci')).filter((f) => f.endsWith('.yaml'));
const templateFiles = listFiles(TEMPLATES);
const deployment = read(join(TEMPLATES, 'deployment.yaml'));

function validator() {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

describe('Helm chart helm/superfone-bff', () => {
  describe('plain YAML files', () => {
    const yamlFiles = ['Chart.yaml', 'values.yaml', ...ciFiles.map((f) => join('ci', f))];

    it.each(yamlFiles)('%s parses without errors or warnings', (file) => {
      const doc = parseDocument(read(join(CHART, file)));
      expect(doc.errors).toEqual([]);
      expect(doc.warnings).toEqual([]);
    });

    it('has a ci values file per Redis topology besides the key-source shapes', () => {
      expect(ciFiles.sort()).toEqual([
        'existing-secret-values.yaml',
        'full-values.yaml',
        'no-redis-values.yaml',
        'redis-cluster-values.yaml',
        'redis-sentinel-values.yaml',
        'redis-url-values.yaml',
      ]);
    });

    it('Chart.yaml is a v2 chart for Kubernetes >= 1.30 whose appVersion is the package version', () => {
      const chart = parse(read(join(CHART, 'Chart.yaml'))) as Tree;
      const pkg = JSON.parse(read(join(ROOT, 'package.json'))) as { version: string };
      expect(chart).toMatchObject({ apiVersion: 'v2', name: 'superfone-bff', type: 'application' });
      expect(chart.appVersion).toBe(pkg.version);
      // The native preStop sleep action is on by default from 1.30.
      expect(chart.kubeVersion).toBe('>=1.30.0-0');
    });

    it('values.yaml starts with the schema modeline and has a comment above every key', () => {
      const lines = read(join(CHART, 'values.yaml')).split('\n');
      expect(lines[0]).toBe('# yaml-language-server: $schema=values.schema.json');
      const uncommented = lines.flatMap((line, i) => {
        if (!/^\s*[A-Za-z][\w-]*:/.test(line)) return [];
        const previous =
          lines
            .slice(0, i)
            .reverse()
            .find((l) => l.trim() !== '') ?? '';
        return previous.trim().startsWith('#') ? [] : [`line ${i + 1}: ${line.trim()}`];
      });
      expect(uncommented).toEqual([]);
    });
  });

  describe('values.schema.json', () => {
    it('is a draft-07 schema that rejects unknown top-level keys', () => {
      expect(schema).toMatchObject({
        $schema: 'http://json-schema.org/draft-07/schema#',
        additionalProperties: false,
      });
    });

    it('allows exactly the scopes the service knows in secrets.clientKeys', () => {
      const validate = validator();
      const entry = (scopes: string[]) => ({
        secrets: { clientKeys: [{ id: 'a', keySha256: 'a'.repeat(64), scopes }] },
      });
      expect(validate(merge(values, entry([...SCOPES]) as Tree)) ? [] : validate.errors).toEqual(
        [],
      );
      for (const scope of SCOPES)
        expect({ scope, valid: validate(merge(values, entry([scope]) as Tree)) }).toEqual({
          scope,
          valid: true,
        });
      expect(validate(merge(values, entry(['apps:write']) as Tree))).toBe(false);
    });

    it('accepts values.yaml', () => {
      const validate = validator();
      expect(validate(values) ? [] : validate.errors).toEqual([]);
    });

    it.each([
      [
        'sentinel with TLS, ACL user and both passwords',
        {
          redis: {
            sentinel: {
              nodes: ['s-0.s:26379', '10.0.0.7:26379', '[fd00::7]:26379'],
              masterName: 'superfone',
              password: { existingSecret: 'redis-auth', key: 'sentinel-password' },
            },
            username: 'bff',
            password: { existingSecret: 'redis-auth', key: 'redis-password' },
            tls: { enabled: true, ca: { existingSecret: 'redis-ca', key: 'ca.crt' } },
          },
        },
      ],
      ['a cluster', { redis: { cluster: { nodes: ['c-0.c:6379', 'c-1.c:65535'] } } }],
      [
        'a URL with a password from a Secret file',
        {
          redis: {
            url: 'rediss://r.example:6380/0',
            password: { existingSecret: 'managed-redis', key: 'password' },
          },
        },
      ],
    ])('accepts %s', (_label, override) => {
      const validate = validator();
      expect(validate(merge(values, override as Tree)) ? [] : validate.errors).toEqual([]);
    });

    it.each(ciFiles)('accepts values.yaml merged with ci/%s (as Helm validates it)', (file) => {
      const validate = validator();
      const merged = merge(values, parse(read(join(CHART, 'ci', file))) as Tree);
      expect(validate(merged) ? [] : validate.errors).toEqual([]);
    });

    it.each([
      ['a misspelt key', { replicas: 3 }],
      [
        'a Redis URL with a password in redis.url',
        { redis: { url: 'redis://:hunter2@redis:6379' } },
      ],
      [
        'a client key that is not a SHA-256',
        { secrets: { clientKeys: [{ id: 'a', keySha256: 'abc', scopes: ['numbers:read'] }] } },
      ],
      [
        'an unknown scope',
        { secrets: { clientKeys: [{ id: 'a', keySha256: 'a'.repeat(64), scopes: ['admin'] }] } },
      ],
      ['a CORS origin with a path', { config: { corsOrigins: ['https://app.example.com/x'] } }],
      ['a zero shutdown timeout', { shutdown: { timeoutSeconds: 0 } }],
      ['a PDB that blocks every eviction', { podDisruptionBudget: { maxUnavailable: 0 } }],
      [
        'sentinel and url topologies at once',
        { redis: { url: 'redis://r:6379', sentinel: { nodes: ['s:26379'] } } },
      ],
      [
        'sentinel and cluster topologies at once',
        { redis: { sentinel: { nodes: ['s:26379'] }, cluster: { nodes: ['c:6379'] } } },
      ],
      [
        'cluster and a URL in the chart Secret at once',
        { redis: { cluster: { nodes: ['c:6379'] } }, secrets: { redisUrl: 'redis://r:6379' } },
      ],
      [
        'a URL and a URL Secret at once',
        { redis: { url: 'redis://r:6379', existingSecret: 'redis-url' } },
      ],
      ['a sentinel without a port', { redis: { sentinel: { nodes: ['sentinel-0'] } } }],
      ['a cluster node with port 0', { redis: { cluster: { nodes: ['c:0'] } } }],
      [
        'a node list as one comma-separated string',
        { redis: { cluster: { nodes: 'a:6379,b:6379' } } },
      ],
      [
        'an empty sentinel master name',
        { redis: { sentinel: { nodes: ['s:26379'], masterName: '' } } },
      ],
      ['a Redis password as a plain value', { redis: { password: 'hunter2' } }],
      [
        'a Secret name Kubernetes would refuse',
        { redis: { password: { existingSecret: 'Redis_Auth', key: 'password' } } },
      ],
      ['an unknown key under redis.tls', { redis: { tls: { enabled: true, insecure: true } } }],
    ])('rejects %s', (_label, override) => {
      expect(validator()(merge(values, override as Tree))).toBe(false);
    });
  });

  describe('templates', () => {
    it.each(templateFiles.map((f) => relative(CHART, f)))(
      '%s only reads values that exist in values.yaml',
      (file) => {
        const missing = valuePathsUsed(read(join(CHART, file)))
          .filter((path) => !has(values, path))
          .map((path) => path.join('.'));
        expect(missing).toEqual([]);
      },
    );

    it.each(templateFiles.map((f) => relative(CHART, f)))(
      '%s has balanced actions and blocks',
      (file) => {
        const text = read(join(CHART, file));
        expect(text.split('{{').length).toBe(text.split('}}').length);
        const opens = text.match(/\{\{-?\s*(if|with|range|define)\b/g) ?? [];
        const ends = text.match(/\{\{-?\s*end\s*-?\}\}/g) ?? [];
        expect(ends.length).toBe(opens.length);
      },
    );

    it('probes: startup and liveness on /health/live, readiness on /health/ready, all on the http port', () => {
      const probe = (name: string) =>
        deployment.match(
          new RegExp(`${name}:\\s*\\n\\s*httpGet:\\s*\\n\\s*path: (\\S+)\\s*\\n\\s*port: (\\S+)`),
        );
      expect(probe('startupProbe')?.slice(1)).toEqual(['/health/live', 'http']);
      expect(probe('livenessProbe')?.slice(1)).toEqual(['/health/live', 'http']);
      expect(probe('readinessProbe')?.slice(1)).toEqual(['/health/ready', 'http']);
    });

    it('the container port, PORT and the Service target are the same containerPort value', () => {
      expect(deployment).toMatch(
        /- name: http\s*\n\s*containerPort: \{\{ \.Values\.containerPort \}\}/,
      );
      expect(read(join(TEMPLATES, 'configmap.yaml'))).toMatch(
        /PORT: \{\{ \.Values\.containerPort \| int \| quote \}\}/,
      );
      const service = read(join(TEMPLATES, 'service.yaml'));
      expect(service).toMatch(/port: \{\{ \.Values\.service\.port \}\}\s*\n\s*targetPort: http/);
      // The image's EXPOSE and the app's default PORT.
      expect(values.containerPort).toBe(3000);
      expect(read(join(ROOT, 'Dockerfile'))).toMatch(/^EXPOSE 3000$/m);
    });

    it('runs as the non-root node user with a read-only root filesystem and no capabilities', () => {
      expect(values.podSecurityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(values.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(deployment).toMatch(
        /^ {6}securityContext:\n {8}\{\{- toYaml \.Values\.podSecurityContext \| nindent 8 \}\}/m,
      );
      expect(deployment).toMatch(
        /^ {10}securityContext:\n {12}\{\{- toYaml \.Values\.securityContext \| nindent 12 \}\}/m,
      );
      // The only writable path is an emptyDir at /tmp.
      expect(deployment).toMatch(/- name: tmp\s*\n\s*mountPath: \/tmp/);
      expect(deployment).toMatch(/- name: tmp\s*\n\s*emptyDir:/);
      const test = read(join(TEMPLATES, 'tests', 'test-connection.yaml'));
      expect(test).toContain('toYaml .Values.securityContext');
      expect(test).toContain('/health/ready');
      // The Service, PDB and NetworkPolicy select on the selector labels; the test pod must not match them.
      expect(test).not.toMatch(/superfone-bff\.(selectorLabels|labels)/);
    });

    it('terminationGracePeriodSeconds and SHUTDOWN_*_MS come from the same shutdown values', () => {
      expect(defineBody('superfone-bff.terminationGracePeriodSeconds')).toContain(
        'add $s.preStopSleepSeconds $s.delaySeconds $s.timeoutSeconds $s.marginSeconds',
      );
      expect(deployment).toContain(
        'terminationGracePeriodSeconds: {{ include "superfone-bff.terminationGracePeriodSeconds" . }}',
      );
      expect(deployment).toContain('seconds: {{ .Values.shutdown.preStopSleepSeconds }}');
      const configmap = read(join(TEMPLATES, 'configmap.yaml'));
      expect(configmap).toContain(
        'SHUTDOWN_DELAY_MS: {{ mul (int .Values.shutdown.delaySeconds) 1000 | quote }}',
      );
      expect(configmap).toContain(
        'SHUTDOWN_TIMEOUT_MS: {{ mul (int .Values.shutdown.timeoutSeconds) 1000 | quote }}',
      );
      // The defaults match the app's own defaults (SHUTDOWN_DELAY_MS 5000, SHUTDOWN_TIMEOUT_MS 20000).
      expect(values.shutdown).toMatchObject({ delaySeconds: 5, timeoutSeconds: 20 });
    });

    it('helm.sh/chart (which changes every chart version) is not a selector label', () => {
      const selector = defineBody('superfone-bff.selectorLabels');
      expect(selector).not.toContain('helm.sh/chart');
      expect(selector).not.toContain('version');
      expect(defineBody('superfone-bff.labels')).toContain('helm.sh/chart');
    });

    it('rolls pods on config and secret changes', () => {
      expect(deployment).toContain(
        'checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}',
      );
      expect(deployment).toContain(
        'checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}',
      );
    });

    it('mounts the Superfone key and client keys as files and points the *_FILE settings at them', () => {
      expect(deployment).toContain('value: {{ $secretDir }}/superfone-api-key');
      expect(deployment).toContain('value: {{ $secretDir }}/client-keys.json');
      expect(deployment).not.toMatch(/name: (SUPERFONE_API_KEY|CLIENT_KEYS)\s*$/m);
      const secret = read(join(TEMPLATES, 'secret.yaml'));
      expect(secret).toMatch(/^\{\{- if not \.Values\.secrets\.existingSecret \}\}$/m);
      for (const key of ['superfone-api-key:', 'client-keys.json:', 'redis-url:'])
        expect(secret).toContain(key);
    });

    it('optional features are off by default', () => {
      expect(get(values, ['autoscaling', 'enabled'])).toBe(false);
      expect(get(values, ['metrics', 'serviceMonitor', 'enabled'])).toBe(false);
      expect(get(values, ['metrics', 'prometheusRule', 'enabled'])).toBe(false);
      expect(get(values, ['networkPolicy', 'enabled'])).toBe(false);
      expect(read(join(TEMPLATES, 'pdb.yaml'))).toContain(
        'unhealthyPodEvictionPolicy: AlwaysAllow',
      );
    });
  });

  describe('no secret in values.yaml', () => {
    it('the secret fields default to empty', () => {
      expect(values.secrets).toEqual({
        existingSecret: '',
        superfoneApiKey: '',
        clientKeys: [],
        redisUrl: '',
      });
      expect(get(values, ['redis', 'url'])).toBe('');
      // Redis and sentinel passwords and the CA exist only as references to the operator's Secrets.
      for (const ref of [
        ['redis', 'password'],
        ['redis', 'sentinel', 'password'],
        ['redis', 'tls', 'ca'],
      ]) {
        expect(Object.keys(get(values, ref) as Tree).sort()).toEqual(['existingSecret', 'key']);
        expect(get(values, [...ref, 'existingSecret'])).toBe('');
      }
    });

    it('chooses no Redis topology by default', () => {
      expect(get(values, ['redis', 'sentinel', 'nodes'])).toEqual([]);
      expect(get(values, ['redis', 'cluster', 'nodes'])).toEqual([]);
      expect(get(values, ['redis', 'existingSecret'])).toBe('');
      expect(get(values, ['redis', 'tls', 'enabled'])).toBe(false);
    });

    it('no key that names a credential holds a value, and no string looks like one', () => {
      const findings: string[] = [];
      const walk = (node: unknown, path: string[]): void => {
        if (isObject(node)) {
          for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
          return;
        }
        if (Array.isArray(node)) {
          node.forEach((v: unknown, i) => {
            walk(v, [...path, String(i)]);
          });
          return;
        }
        const key = path[path.length - 1] ?? '';
        const credentialName =
          /(apikey|password|passwd|token|secret|clientkeys)$/i.test(key) &&
          !/^existingSecret/.test(key);
        if (credentialName && node !== '' && node !== null)
          findings.push(`${path.join('.')} is set`);
        if (
          typeof node === 'string' &&
          /([0-9a-f]{32,}|[A-Za-z0-9+/_-]{40,}|:\/\/[^/\s]*:[^@\s]*@)/i.test(node)
        ) {
          findings.push(`${path.join('.')} looks like a credential`);
        }
      };
      walk(values, []);
      expect(findings).toEqual([]);
    });
  });
});
