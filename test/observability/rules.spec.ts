/**
 * Static checks of the observability files against the metrics contract: the Prometheus alert rules
 * (deploy/prometheus/alerts.yaml, its copy in the Helm chart and the PrometheusRule template) and the
 * Grafana dashboard. Every PromQL expression may only name metrics (and labels) the service exposes.
 * With `promtool` (on PATH, or $PROMTOOL) it also checks the rules and runs their unit tests (CI
 * installs it); without it those tests are reported as skipped.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { PROBLEMS } from '../../src/common/problem-codes';
import { defined } from '../support/defined';
import { promtoolVersion, runPromtool, withPromtool } from '../support/promtool';

const ROOT = join(__dirname, '..', '..');
const ALERTS = 'deploy/prometheus/alerts.yaml';
const ALERT_TESTS = 'deploy/prometheus/alerts.test.yaml';
const CHART_ALERTS = 'helm/superfone-bff/files/alerts.yaml';
const RULE_TEMPLATE = 'helm/superfone-bff/templates/prometheusrule.yaml';
const DASHBOARD = 'deploy/grafana/superfone-bff-dashboard.json';
const METRICS_SOURCE = 'src/metrics/metrics.ts';

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

// ---------------------------------------------------------------------------------------------
// The metrics contract
// ---------------------------------------------------------------------------------------------

type MetricType = 'counter' | 'gauge' | 'histogram';
/** Label name -> allowed values (null: any value). */
type Labels = Record<string, readonly string[] | null>;
interface MetricSpec {
  readonly type: MetricType;
  readonly labels: Labels;
}

/** Labels every series gets from the scrape (Prometheus Operator targets). */
const TARGET_LABELS = ['job', 'instance', 'pod', 'namespace'] as const;

/** How a link or unlink that went through ended (201, 200, 204). */
const MUTATION_SUCCESSES = ['linked', 'already_linked', 'unlinked'];
/**
 * Otherwise the problem code it answered, lower case (MutationAudit.outcomeOf): Superfone's
 * refusals, the upstream failures, and internal.
 */
const MUTATION_FAILURES = [
  'invalid_request',
  'app_not_found',
  'number_not_linked',
  'number_not_found',
  'number_already_linked',
  'upstream_auth_failed',
  'upstream_error',
  'upstream_bad_response',
  'upstream_unavailable',
  'upstream_timeout',
  'internal',
];

const SERVICE_METRICS: Record<string, MetricSpec> = {
  superfone_bff_http_request_duration_seconds: {
    type: 'histogram',
    labels: { route: null, method: null, status_code: null },
  },
  superfone_bff_cache_results_total: {
    type: 'counter',
    labels: { result: ['hit', 'miss', 'stale', 'refresh', 'coalesced'] },
  },
  superfone_bff_upstream_request_duration_seconds: {
    type: 'histogram',
    labels: { outcome: ['success', 'error'] },
  },
  superfone_bff_upstream_failures_total: {
    type: 'counter',
    labels: {
      classification: [
        'upstream_timeout',
        'upstream_unavailable',
        'upstream_error',
        'upstream_bad_response',
        'upstream_auth_failed',
        'circuit_open',
      ],
    },
  },
  superfone_bff_upstream_retries_total: { type: 'counter', labels: {} },
  superfone_bff_circuit_state: { type: 'gauge', labels: {} },
  superfone_bff_rate_limited_total: { type: 'counter', labels: { client: null } },
  superfone_bff_redis_errors_total: {
    type: 'counter',
    labels: {
      operation: [
        'cache_read',
        'cache_write',
        'lock',
        'rate_limit',
        'idempotency',
        'health',
        'invalidation',
      ],
    },
  },
  superfone_bff_cached_copy_fetched_timestamp_seconds: { type: 'gauge', labels: {} },
  superfone_bff_number_mutations_total: {
    type: 'counter',
    labels: {
      operation: ['link', 'unlink'],
      outcome: [...MUTATION_SUCCESSES, ...MUTATION_FAILURES],
    },
  },
  superfone_bff_http_connections_dropped_total: { type: 'counter', labels: {} },
  superfone_bff_http_refused_early_total: {
    type: 'counter',
    labels: {
      code: ['INVALID_REQUEST', 'HEADERS_TOO_LARGE', 'REQUEST_TIMEOUT', 'EXPECTATION_FAILED'],
    },
  },
  superfone_bff_http_open_connections: { type: 'gauge', labels: {} },
  superfone_bff_cache_invalidations_total: {
    type: 'counter',
    labels: { event: ['sent', 'send_failed', 'received', 'missed', 'malformed'] },
  },
};

const gauge = (labels: Labels = {}): MetricSpec => ({ type: 'gauge', labels });
const counter = (labels: Labels = {}): MetricSpec => ({ type: 'counter', labels });

/** prom-client 15's default metrics, with the `nodejs_active_*_total` gauges renamed. */
const DEFAULT_METRICS: Record<string, MetricSpec> = {
  process_cpu_user_seconds_total: counter(),
  process_cpu_system_seconds_total: counter(),
  process_cpu_seconds_total: counter(),
  process_start_time_seconds: gauge(),
  process_resident_memory_bytes: gauge(),
  process_virtual_memory_bytes: gauge(),
  process_heap_bytes: gauge(),
  process_open_fds: gauge(),
  process_max_fds: gauge(),
  nodejs_eventloop_lag_seconds: gauge(),
  nodejs_eventloop_lag_min_seconds: gauge(),
  nodejs_eventloop_lag_max_seconds: gauge(),
  nodejs_eventloop_lag_mean_seconds: gauge(),
  nodejs_eventloop_lag_stddev_seconds: gauge(),
  nodejs_eventloop_lag_p50_seconds: gauge(),
  nodejs_eventloop_lag_p90_seconds: gauge(),
  nodejs_eventloop_lag_p99_seconds: gauge(),
  nodejs_active_handles: gauge({ type: null }),
  nodejs_active_requests: gauge({ type: null }),
  nodejs_active_resources: gauge({ type: null }),
  nodejs_heap_size_total_bytes: gauge(),
  nodejs_heap_size_used_bytes: gauge(),
  nodejs_external_memory_bytes: gauge(),
  nodejs_heap_space_size_total_bytes: gauge({ space: null }),
  nodejs_heap_space_size_used_bytes: gauge({ space: null }),
  nodejs_heap_space_size_available_bytes: gauge({ space: null }),
  nodejs_version_info: gauge({ version: null, major: null, minor: null, patch: null }),
  nodejs_gc_duration_seconds: { type: 'histogram', labels: { kind: null } },
};

/** Prometheus' own per-target series. */
const SCRAPE_METRICS: Record<string, MetricSpec> = { up: gauge() };

const CONTRACT: Record<string, MetricSpec> = {
  ...SERVICE_METRICS,
  ...DEFAULT_METRICS,
  ...SCRAPE_METRICS,
};

/** The contract entry for a series name, histogram suffixes included; undefined when not in the contract. */
function contractFor(name: string): { spec: MetricSpec; extraLabels: string[] } | undefined {
  const exact = metricSpec(name);
  if (exact) return { spec: exact, extraLabels: [] };
  const m = name.match(/^(.*)_(bucket|sum|count)$/);
  const histogram = m ? metricSpec(m[1]) : undefined;
  if (m && histogram?.type === 'histogram')
    return { spec: histogram, extraLabels: m[2] === 'bucket' ? ['le'] : [] };
  return undefined;
}

/** The contract's own entry for `name` (never an inherited property such as `constructor`). */
function metricSpec(name: string): MetricSpec | undefined {
  return Object.hasOwn(CONTRACT, name) ? CONTRACT[name] : undefined;
}

// ---------------------------------------------------------------------------------------------
// A small PromQL reader: finds every series selector with its label matchers
// ---------------------------------------------------------------------------------------------

interface Matcher {
  readonly name: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}
interface Selector {
  readonly metric: string;
  readonly matchers: Matcher[];
}

const FUNCTIONS = new Set(
  (
    'abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp clamp_max ' +
    'clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg delta deriv exp ' +
    'floor histogram_count histogram_fraction histogram_quantile histogram_stddev histogram_stdvar histogram_sum ' +
    'holt_winters hour idelta increase irate label_join label_replace last_over_time ln log10 log2 ' +
    'mad_over_time max_over_time min_over_time minute month pi predict_linear present_over_time ' +
    'quantile_over_time rad rate resets round scalar sgn sin sinh sort sort_desc sqrt stddev_over_time ' +
    'stdvar_over_time sum_over_time tan tanh time timestamp vector year ' +
    'sum min max avg group stddev stdvar count count_values bottomk topk quantile'
  ).split(' '),
);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'inf', 'nan']);

/** Grafana's interval variables, and any other dashboard variable, as something PromQL accepts. */
function substituteGrafanaVariables(expr: string): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (_m, name: string) =>
    /^__(rate_interval|interval|range)/.test(name) ? '5m' : '.*',
  );
}

/** Stand-ins (private-use characters, never in PromQL) for strings and selectors already read. */
const STRING_MARK = '\uE000';
const SELECTOR_MARK = '\uE001';

/** Every series selector in a PromQL expression. Throws on anything it cannot account for. */
function selectorsOf(expr: string): Selector[] {
  const strings: string[] = [];
  // 1. Strings out of the way (they may hold braces, parentheses or words).
  let text = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, (s) => {
    strings.push(JSON.parse(s.startsWith('"') ? s : JSON.stringify(s.slice(1, -1))) as string);
    return `${STRING_MARK}${strings.length - 1}${STRING_MARK}`;
  });
  // 2. Range and subquery brackets, offsets.
  text = text.replace(/\[[^\]]*\]/g, ' ').replace(/\boffset\s+-?[\w.]+/g, ' ');
  // 3. Selectors with braces.
  const selectors: Selector[] = [];
  text = text.replace(
    /([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}/g,
    (_m, metric: string | undefined, body: string) => {
      const matchers: Matcher[] = [];
      for (const part of body
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const mm = new RegExp(
          `^([a-zA-Z_]\\w*)\\s*(=~|!~|!=|=)\\s*${STRING_MARK}(\\d+)${STRING_MARK}$`,
        ).exec(part);
        if (!mm) throw new Error(`cannot read label matcher "${part}" in: ${expr}`);
        matchers.push({ name: mm[1], op: mm[2] as Matcher['op'], value: strings[Number(mm[3])] });
      }
      if (!metric)
        throw new Error(`selector without a metric name (e.g. {__name__=~...}) in: ${expr}`);
      selectors.push({ metric, matchers });
      return ` ${SELECTOR_MARK} `;
    },
  );
  // 4. Grouping clauses (their label lists are not metric names).
  text = text
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\b(group_left|group_right)\b/g, ' ');
  // 5. What is left: function names, keywords, numbers and bare metric names.
  for (const m of text.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, word, call] = m;
    if (KEYWORDS.has(word.toLowerCase())) continue;
    if (call) {
      if (!FUNCTIONS.has(word)) throw new Error(`unknown PromQL function ${word}() in: ${expr}`);
      continue;
    }
    selectors.push({ metric: word, matchers: [] });
  }
  return selectors;
}

/** Problems with one expression against the contract ([] when it only uses contract metrics and labels). */
function contractProblems(expr: string): string[] {
  const problems: string[] = [];
  let selectors: Selector[];
  try {
    selectors = selectorsOf(expr);
  } catch (error) {
    return [(error as Error).message];
  }
  if (selectors.length === 0) problems.push(`no metric at all in: ${expr}`);
  for (const { metric, matchers } of selectors) {
    const entry = contractFor(metric);
    if (!entry) {
      problems.push(`${metric} is not in the metrics contract`);
      continue;
    }
    for (const { name, op, value } of matchers) {
      if ((TARGET_LABELS as readonly string[]).includes(name) || entry.extraLabels.includes(name))
        continue;
      if (!(name in entry.spec.labels)) {
        problems.push(`${metric} has no label ${name}`);
        continue;
      }
      const allowed = entry.spec.labels[name];
      if (!allowed) continue;
      // Exact values, or regexes that are plain alternatives, must be values the service emits.
      const values =
        op === '=' || op === '!=' ? [value] : /^[\w|]+$/.test(value) ? value.split('|') : [];
      for (const v of values)
        if (!allowed.includes(v)) problems.push(`${metric}{${name}="${v}"} is never emitted`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The files
// ---------------------------------------------------------------------------------------------

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}
interface Target {
  refId: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: {
    defaults?: { mappings?: Array<{ type: string; options: Record<string, { text: string }> }> };
  };
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
  datasource?: { type?: string; uid?: string };
}
interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  templating: { list: Variable[] };
  panels: Panel[];
}

const JOB_SELECTOR = 'job=~"superfone-bff.*"';
const REQUIRED_ALERTS = [
  'SuperfoneBffUpstreamFailing',
  'SuperfoneBffCircuitOpen',
  'SuperfoneBffServingStaleTooLong',
  'SuperfoneBffHighErrorRatio',
  'SuperfoneBffRedisErrors',
  'SuperfoneBffNoSuccessfulRefresh',
  'SuperfoneBffDown',
  'SuperfoneBffNumberMutationsFailing',
  'SuperfoneBffNumberMutationOutcomeUnknown',
  'SuperfoneBffCacheInvalidationsLost',
  'SuperfoneBffConnectionsDropped',
];

const alertsText = read(ALERTS);
const rules = parse(alertsText) as RuleFile;
const alerts = rules.groups
  .flatMap((g) => g.rules)
  .filter((r): r is Rule & { alert: string } => Boolean(r.alert));
/** The alert named `name` (the test that lists the required alerts fails first when one is missing). */
const alert = (name: string) =>
  defined(
    alerts.find((a) => a.alert === name),
    `alert ${name} in ${ALERTS}`,
  );
const dashboard = JSON.parse(read(DASHBOARD)) as Dashboard;
const allPanels = (list: Panel[]): Panel[] =>
  list.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
const panels = allPanels(dashboard.panels);
const dashboardTargets = panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ panel: p, target: t })),
);

/** The PromQL inside annotation templates (`printf \`...\` $labels.job $labels.namespace | query`), made concrete. */
function annotationQueries(rule: Rule): string[] {
  const text = Object.values(rule.annotations ?? {}).join('\n');
  return [...text.matchAll(/printf `([^`]*)`/g)].map((m) =>
    m[1].replace(/%\[1\]q/g, '"superfone-bff"').replace(/%\[2\]q/g, '"superfone"'),
  );
}

/** `label_values(selector, label)` of a query variable: the selector part. */
function variableSelector(variable: Variable): string | undefined {
  const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
  const m = query?.match(/^label_values\((.*),\s*\w+\)$/);
  return m ? m[1] : undefined;
}

// ---------------------------------------------------------------------------------------------
// promtool
// ---------------------------------------------------------------------------------------------

/** What `promtool check rules` prints for a file it accepts with `count` rules. */
const rulesAccepted = (count: number) => new RegExp(`^  SUCCESS: ${count} rules found$`, 'm');

/** Runs `promtool check rules` on expressions turned into recording rules. */
function checkExpressions(exprs: Array<{ name: string; expr: string }>): {
  status: number | null;
  output: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'rules-spec-'));
  try {
    const file = join(dir, 'exprs.yaml');
    writeFileSync(
      file,
      stringify({
        groups: [{ name: 'exprs', rules: exprs.map((e) => ({ record: e.name, expr: e.expr })) }],
      }),
    );
    return runPromtool(['check', 'rules', file], { cwd: ROOT });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

describe('the PromQL reader used below', () => {
  it('finds selectors, bare metrics and histogram suffixes, and ignores functions, keywords and grouping labels', () => {
    const found = selectorsOf(
      'sum by (namespace, route) (rate(a_total{job=~"x.*", route!~"/health/.*|/metrics"}[$__rate_interval])) / ' +
        'ignoring (route) group_left max(b_bucket) > bool 2 and on (job) time() - c offset 5m',
    );
    expect(found.map((s) => s.metric)).toEqual(['a_total', 'b_bucket', 'c']);
    expect(found[0].matchers).toEqual([
      { name: 'job', op: '=~', value: 'x.*' },
      { name: 'route', op: '!~', value: '/health/.*|/metrics' },
    ]);
  });

  it('reports metrics, labels and values outside the contract', () => {
    expect(contractProblems('rate(superfone_bff_cache_results_total{result="hits"}[5m])')).toEqual([
      'superfone_bff_cache_results_total{result="hits"} is never emitted',
    ]);
    expect(contractProblems('superfone_bff_upstream_failures_total{reason="x"}')).toEqual([
      'superfone_bff_upstream_failures_total has no label reason',
    ]);
    expect(contractProblems('nodejs_active_handles_total')).toEqual([
      'nodejs_active_handles_total is not in the metrics contract',
    ]);
    expect(contractProblems('{__name__=~"superfone_bff_.*"}')[0]).toMatch(/without a metric name/);
    expect(
      contractProblems(
        'histogram_quantile(0.99, sum by (le) (rate(superfone_bff_http_request_duration_seconds_bucket{le="1"}[5m])))',
      ),
    ).toEqual([]);
  });
});

describe('the metrics contract', () => {
  it('names exactly the superfone_bff_* metrics src/metrics/metrics.ts registers', () => {
    const source = read(METRICS_SOURCE);
    const registered = [...source.matchAll(/name:\s*'(superfone_bff_\w+)'/g)]
      .map((m) => m[1])
      .sort();
    expect(registered).toEqual(Object.keys(SERVICE_METRICS).sort());
  });

  it('names every failed mutation outcome after a problem code the service answers', () => {
    const codes = Object.keys(PROBLEMS).map((code) => code.toLowerCase());
    expect(MUTATION_FAILURES.filter((outcome) => !codes.includes(outcome))).toEqual([]);
  });

  it('lists the Redis operations and invalidation events src/metrics/metrics.ts declares', () => {
    const source = read(METRICS_SOURCE);
    const union = (type: string) =>
      [
        ...defined(
          new RegExp(`export type ${type} =([^;]*);`).exec(source),
          `type ${type} in ${METRICS_SOURCE}`,
        )[1].matchAll(/'(\w+)'/g),
      ]
        .map((m) => m[1])
        .sort();
    expect(union('RedisOperation')).toEqual(
      [...(SERVICE_METRICS.superfone_bff_redis_errors_total.labels.operation ?? [])].sort(),
    );
    expect(union('InvalidationEvent')).toEqual(
      [...(SERVICE_METRICS.superfone_bff_cache_invalidations_total.labels.event ?? [])].sort(),
    );
  });
});

describe(`alert rules ${ALERTS}`, () => {
  it('has the required alerts, each once', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual([...REQUIRED_ALERTS].sort());
  });

  it.each(REQUIRED_ALERTS)(
    '%s has a severity, a for duration and summary/description/runbook annotations',
    (name) => {
      const rule = alert(name);
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(rule.for).toMatch(/^\d+[smh]$/);
      for (const key of ['summary', 'description', 'runbook']) {
        const text = rule.annotations?.[key];
        expect(typeof text).toBe('string');
        expect(text?.trim().length).toBeGreaterThan(20);
      }
    },
  );

  it.each(REQUIRED_ALERTS)(
    '%s only uses metrics, labels and values of the contract (expression and annotation queries)',
    (name) => {
      const rule = alert(name);
      expect([rule.expr, ...annotationQueries(rule)].flatMap(contractProblems)).toEqual([]);
    },
  );

  it(`every selector in every expression says ${JOB_SELECTOR} (the Helm chart rewrites exactly that text)`, () => {
    for (const rule of alerts) {
      const selectors = selectorsOf(rule.expr);
      const scoped = selectors.filter((s) =>
        s.matchers.some((m) => m.name === 'job' && m.op === '=~' && m.value === 'superfone-bff.*'),
      );
      expect({ alert: rule.alert, unscoped: selectors.length - scoped.length }).toEqual({
        alert: rule.alert,
        unscoped: 0,
      });
      expect(rule.expr.split(JOB_SELECTOR).length - 1).toBe(selectors.length);
    }
  });

  it('SuperfoneBffNoSuccessfulRefresh is the newest copy older than 10 minutes while /numbers/available has traffic', () => {
    const { expr } = alert('SuperfoneBffNoSuccessfulRefresh');
    expect(expr).toMatch(
      /time\(\) - max by \(namespace, job\) \(superfone_bff_cached_copy_fetched_timestamp_seconds\{[^}]*\}\) > 600/,
    );
    expect(expr).toMatch(
      /and on \(namespace, job\)[\s\S]*superfone_bff_http_request_duration_seconds_count\{[^}]*route="\/numbers\/available"/,
    );
  });

  it('SuperfoneBffDown is up == 0 for 5m', () => {
    const rule = alert('SuperfoneBffDown');
    expect(rule.expr.trim()).toBe(`up{${JOB_SELECTOR}} == 0`);
    expect(rule.for).toBe('5m');
  });

  it('every dashboard panel a runbook points at exists', () => {
    const titles = new Set([dashboard.title, ...panels.map((p) => p.title)]);
    const named = alerts.flatMap((a) =>
      [...(a.annotations?.runbook ?? '').replace(/`[^`]*`/g, '').matchAll(/"([^"]+)"/g)].map(
        (m) => m[1],
      ),
    );
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((t) => !titles.has(t))).toEqual([]);
  });

  it(`${ALERT_TESTS} has a firing and a quiet case for every alert`, () => {
    const tests = parse(read(ALERT_TESTS)) as {
      rule_files: string[];
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
    };
    expect(tests.rule_files).toEqual(['alerts.yaml']);
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const name of REQUIRED_ALERTS) {
      const mine = cases.filter((c) => c.alertname === name);
      expect({ name, firing: mine.some((c) => (c.exp_alerts ?? []).length > 0) }).toEqual({
        name,
        firing: true,
      });
      expect({ name, quiet: mine.some((c) => (c.exp_alerts ?? []).length === 0) }).toEqual({
        name,
        quiet: true,
      });
    }
  });
});

describe('Helm PrometheusRule', () => {
  const template = read(RULE_TEMPLATE);

  it(`${CHART_ALERTS} is identical to ${ALERTS}`, () => {
    expect(read(CHART_ALERTS)).toBe(alertsText);
  });

  it('is off by default and includes the rules file, narrowed to the release job and namespace', () => {
    const values = parse(read('helm/superfone-bff/values.yaml')) as {
      metrics: { prometheusRule: { enabled: boolean } };
    };
    expect(values.metrics.prometheusRule.enabled).toBe(false);
    expect(template).toMatch(/^\{\{- if \.Values\.metrics\.prometheusRule\.enabled \}\}$/m);
    expect(template).toContain(
      '{{- $selector := printf "job=%q, namespace=%q" $job .Release.Namespace }}',
    );
    expect(template).toContain(
      '{{- .Files.Get "files/alerts.yaml" | replace `job=~"superfone-bff.*"` $selector | nindent 2 }}',
    );
    expect(template).toMatch(/^spec:\n {2}\{\{- \.Files\.Get/m);
  });

  /** What Helm renders for spec: (the file, with the selector replaced, indented under spec:). */
  const rendered = (() => {
    const replaced = read(CHART_ALERTS).replaceAll(
      JOB_SELECTOR,
      'job="prod-superfone-bff", namespace="numbers"',
    );
    const spec = `spec:\n${replaced
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n')}`;
    return (parse(spec) as { spec: RuleFile }).spec;
  })();

  it('renders the same rules with every selector scoped to the release', () => {
    expect(rendered.groups.map((g) => g.rules.map((r) => r.alert))).toEqual(
      rules.groups.map((g) => g.rules.map((r) => r.alert)),
    );
    for (const rule of rendered.groups.flatMap((g) => g.rules)) {
      expect(rule.expr).not.toContain('superfone-bff.*');
      for (const s of selectorsOf(rule.expr)) {
        expect(s.matchers).toEqual(
          expect.arrayContaining([
            { name: 'job', op: '=', value: 'prod-superfone-bff' },
            { name: 'namespace', op: '=', value: 'numbers' },
          ]),
        );
      }
    }
    // Annotations keep their Prometheus templates (Helm does not render .Files.Get content).
    const original = alert('SuperfoneBffUpstreamFailing');
    const copy = defined(
      rendered.groups
        .flatMap((g) => g.rules)
        .find((r) => r.alert === 'SuperfoneBffUpstreamFailing'),
      'SuperfoneBffUpstreamFailing in the rendered rules',
    );
    expect(copy.annotations).toEqual(original.annotations);
    expect(copy.annotations?.summary).toContain('{{ $labels.namespace }}');
  });

  withPromtool('renders rules promtool accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-spec-'));
    try {
      writeFileSync(join(dir, 'rendered.yaml'), stringify(rendered));
      const result = runPromtool(['check', 'rules', join(dir, 'rendered.yaml')]);
      expect(result.output).toMatch(rulesAccepted(REQUIRED_ALERTS.length));
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe(`Grafana dashboard ${DASHBOARD}`, () => {
  it('is a schemaVersion >= 39 dashboard with a prometheus datasource variable every query uses', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.uid).toBe('superfone-bff');
    const datasource = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const usesVariable = (ds?: { type?: string; uid?: string }) =>
      ds?.type === 'prometheus' && ds.uid === '${datasource}';
    const wrong = [
      ...dashboardTargets.filter(
        ({ panel, target }) => !usesVariable(panel.datasource) || !usesVariable(target.datasource),
      ),
      ...dashboard.templating.list
        .filter((v) => v.type === 'query' && !usesVariable(v.datasource))
        .map((v) => ({ variable: v.name })),
    ];
    expect(wrong).toEqual([]);
    expect(dashboardTargets.length).toBeGreaterThan(20);
  });

  it('has unique panel ids and every non-row, non-text panel has a query', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(
      panels.filter(
        (p) => !['row', 'text'].includes(p.type) && !(p.targets ?? []).some((t) => t.expr),
      ),
    ).toEqual([]);
  });

  it('only uses metrics, labels and values of the contract (targets and variable queries)', () => {
    const problems = [
      ...dashboardTargets.flatMap(({ panel, target }) =>
        contractProblems(target.expr ?? '').map((p) => `${panel.title} ${target.refId}: ${p}`),
      ),
      ...dashboard.templating.list
        .filter((v) => v.type === 'query')
        .flatMap((v) => {
          const selector = variableSelector(v);
          return selector
            ? contractProblems(selector).map((p) => `$${v.name}: ${p}`)
            : [`$${v.name}: not a label_values() query`];
        }),
    ];
    expect(problems).toEqual([]);
  });

  const exprs = dashboardTargets.map(({ target }) => target.expr ?? '');
  it.each([
    [
      'request rate by route and status',
      /sum by \(route, status_code\) \(rate\(superfone_bff_http_request_duration_seconds_count/,
    ],
    [
      '5xx ratio',
      /status_code=~"5\.\."[^/]*\/ sum\(rate\(superfone_bff_http_request_duration_seconds_count/,
    ],
    [
      '4xx ratio',
      /status_code=~"4\.\."[^/]*\/ sum\(rate\(superfone_bff_http_request_duration_seconds_count/,
    ],
    [
      '/numbers/available p50',
      /histogram_quantile\(0\.5, .*superfone_bff_http_request_duration_seconds_bucket\{[^}]*route="\/numbers\/available"/,
    ],
    [
      '/numbers/available p99',
      /histogram_quantile\(0\.99, .*superfone_bff_http_request_duration_seconds_bucket\{[^}]*route="\/numbers\/available"/,
    ],
    [
      'cache hit ratio',
      /result="hit".*\/ sum\(rate\(superfone_bff_cache_results_total\{[^}]*result=~"hit\|miss\|stale\|refresh"/,
    ],
    [
      'stale answers per second',
      /^sum\(rate\(superfone_bff_cache_results_total\{[^}]*result="stale"/,
    ],
    [
      'upstream p50',
      /histogram_quantile\(0\.5, .*superfone_bff_upstream_request_duration_seconds_bucket/,
    ],
    [
      'upstream p99',
      /histogram_quantile\(0\.99, .*superfone_bff_upstream_request_duration_seconds_bucket/,
    ],
    [
      'upstream failures by classification',
      /sum by \(classification\) \(rate\(superfone_bff_upstream_failures_total/,
    ],
    ['upstream retries', /superfone_bff_upstream_retries_total/],
    [
      'rate-limit rejections by client',
      /sum by \(client\) \(rate\(superfone_bff_rate_limited_total/,
    ],
    ['Redis errors by operation', /sum by \(operation\) \(rate\(superfone_bff_redis_errors_total/],
    ['cached copy age', /^time\(\) - superfone_bff_cached_copy_fetched_timestamp_seconds\{/],
    [
      'number mutations by operation and outcome',
      /^sum by \(operation, outcome\) \(increase\(superfone_bff_number_mutations_total\{/,
    ],
    [
      'cache invalidations by event',
      /^sum by \(event\) \(increase\(superfone_bff_cache_invalidations_total\{/,
    ],
    ['RSS', /^process_resident_memory_bytes\{/],
    ['event-loop lag', /^nodejs_eventloop_lag_p99_seconds\{/],
  ])('has a %s query', (_label, pattern) => {
    expect(exprs.some((e) => pattern.test(e))).toBe(true);
  });

  it('shows the circuit state as closed / half-open / open', () => {
    const circuitPanels = panels.filter((p) =>
      (p.targets ?? []).some((t) => t.expr?.includes('superfone_bff_circuit_state')),
    );
    expect(circuitPanels.map((p) => p.type)).toContain('state-timeline');
    for (const panel of circuitPanels) {
      const options =
        panel.fieldConfig?.defaults?.mappings?.find((m) => m.type === 'value')?.options ?? {};
      expect({
        panel: panel.title,
        texts: Object.fromEntries(Object.entries(options).map(([k, v]) => [k, v.text])),
      }).toEqual({
        panel: panel.title,
        texts: { 0: 'closed', 1: 'half-open', 2: 'open' },
      });
    }
  });

  withPromtool(
    'every query is valid PromQL (promtool check rules on them as recording rules)',
    () => {
      const exprs = [
        ...dashboardTargets.map(({ panel, target }) => ({
          name: `dashboard:panel_${panel.id}:${target.refId}`,
          expr: substituteGrafanaVariables(target.expr ?? ''),
        })),
        ...alerts.flatMap((a) =>
          annotationQueries(a).map((expr, i) => ({ name: `annotation:${a.alert}:${i}`, expr })),
        ),
      ];
      const result = checkExpressions(exprs);
      expect(result.output).toMatch(rulesAccepted(exprs.length));
      expect(result.status).toBe(0);
    },
  );
});

describe(`promtool (${promtoolVersion ?? 'absent: its tests are skipped'})`, () => {
  withPromtool('rejects an expression that is not PromQL (so the checks above can fail)', () => {
    const result = checkExpressions([
      { name: 'good:up', expr: 'up' },
      { name: 'bad:unclosed', expr: 'sum(rate(up[5m])' },
    ]);
    expect(result.output).not.toMatch(/SUCCESS/);
    expect(result.output).toMatch(/bad:unclosed|unclosed|parse error/i);
    expect(result.status).not.toBe(0);
  });

  withPromtool(`promtool check rules ${ALERTS}`, () => {
    const result = runPromtool(['check', 'rules', ALERTS], { cwd: ROOT });
    expect(result.output).toMatch(rulesAccepted(REQUIRED_ALERTS.length));
    expect(result.status).toBe(0);
  });

  withPromtool(`promtool test rules ${ALERT_TESTS} (every alert's firing and quiet case)`, () => {
    const result = runPromtool(['test', 'rules', ALERT_TESTS], { cwd: ROOT });
    expect(result.output).toMatch(/^ {2}SUCCESS$/m);
    expect(result.output).not.toMatch(/FAILED/);
    expect(result.status).toBe(0);
  });

  withPromtool('promtool test rules fails when an alert does not fire as its test expects', () => {
    // The same tests against rules whose every alert needs an impossible value: the firing cases fail.
    const dir = mkdtempSync(join(tmpdir(), 'rules-spec-'));
    try {
      const never = {
        groups: rules.groups.map((g) => ({
          ...g,
          rules: g.rules.map((r) => ({ ...r, expr: `(${r.expr}) and on () vector(0) > 1` })),
        })),
      };
      writeFileSync(join(dir, 'alerts.yaml'), stringify(never));
      writeFileSync(join(dir, 'alerts.test.yaml'), read(ALERT_TESTS));
      const result = runPromtool(['test', 'rules', join(dir, 'alerts.test.yaml')]);
      expect(result.output).toMatch(/FAILED/);
      for (const name of REQUIRED_ALERTS) expect(result.output).toContain(`alertname: ${name}`);
      expect(result.status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
