import type { Histogram, Registry } from 'prom-client';

type Label = 'route' | 'method' | 'status_code';
type Sample = {
  value: number;
  labels: Partial<Record<Label | 'le', string | number>>;
  metricName: string;
};

/** One route/method/status series: counts per bucket (not cumulative), sum and count. */
export class DurationSeries {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    private readonly upperBounds: readonly number[],
    private readonly labels: Readonly<Record<Label, string>>,
  ) {
    this.counts = new Float64Array(upperBounds.length);
  }

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < this.upperBounds.length; i++) {
      if (seconds <= this.upperBounds[i]) {
        this.counts[i]++;
        return;
      }
    }
  }

  /** prom-client's export shape: cumulative `_bucket` samples, then +Inf, `_sum` and `_count`. */
  samples(name: string): Sample[] {
    let cumulative = 0;
    const out: Sample[] = this.upperBounds.map((le, i) => {
      cumulative += this.counts[i];
      return { value: cumulative, labels: { le, ...this.labels }, metricName: `${name}_bucket` };
    });
    out.push(
      { value: this.count, labels: { le: '+Inf', ...this.labels }, metricName: `${name}_bucket` },
      { value: this.sum, labels: this.labels, metricName: `${name}_sum` },
      { value: this.count, labels: this.labels, metricName: `${name}_count` },
    );
    return out;
  }
}

/**
 * superfone_bff_http_request_duration_seconds, observed once per request. prom-client's labelled
 * observe() validates the label object and rebuilds its hash key on every call, the largest part
 * of a cache hit's metrics cost. Here each route/method/status series is looked up through three
 * Maps keyed by values the request already holds (no key string built), and an observation is a
 * bucket search and three additions. The series are exposed through the same prom-client
 * registry, in the shape prom-client's own histograms export, so /metrics reads the same.
 */
export class RequestDurationHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly upperBounds: readonly number[];
  private readonly series = new Map<string, Map<string, Map<number, DurationSeries>>>();

  constructor(config: {
    name: string;
    help: string;
    buckets: readonly number[];
    registry: Registry;
  }) {
    this.name = config.name;
    this.help = config.help;
    this.upperBounds = config.buckets;
    // The registry needs only name, help, type, get() and reset(); its signature names prom-client's classes.
    config.registry.registerMetric(this as unknown as Histogram);
  }

  seriesFor(route: string, method: string, status: number): DurationSeries {
    let byMethod = this.series.get(route);
    if (!byMethod) this.series.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (!series) {
      series = new DurationSeries(this.upperBounds, { route, method, status_code: String(status) });
      byStatus.set(status, series);
    }
    return series;
  }

  /** Registry.resetMetrics() calls this on every metric. */
  reset(): void {
    this.series.clear();
  }

  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: Sample[];
  }> {
    const values: Sample[] = [];
    for (const byMethod of this.series.values()) {
      for (const byStatus of byMethod.values()) {
        for (const series of byStatus.values()) values.push(...series.samples(this.name));
      }
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }
}
