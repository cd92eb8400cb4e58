import type { Registry } from 'prom-client';

/** How long one rendering of the metrics is served to every scrape. */
export const METRICS_MAX_AGE_MS = 1000;

/**
 * The Prometheus text of the registry, rendered at most once per METRICS_MAX_AGE_MS. Rendering
 * walks every series and collects the Node defaults: at ~880 scrapes a second of the unauthenticated
 * /metrics it took a whole core. Here a flood of scrapes costs one rendering a second: concurrent
 * scrapes share the rendering in flight, and later ones get its text until it is a second old.
 * Values can therefore be up to a second old, far below any scrape interval.
 *
 * One instance serves /metrics on the main port and on METRICS_PORT.
 */
export class MetricsText {
  private last: { readonly text: string; readonly renderedAt: number } | undefined;
  private rendering: Promise<string> | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    const startedAt = this.now();
    if (this.last && startedAt - this.last.renderedAt < METRICS_MAX_AGE_MS) {
      return Promise.resolve(this.last.text);
    }
    this.rendering ??= this.registry.metrics().then(
      (text) => {
        // Stamped with when the rendering began: no value in it is older than that.
        this.last = { text, renderedAt: startedAt };
        this.rendering = undefined;
        return text;
      },
      (error: unknown) => {
        this.rendering = undefined;
        throw error;
      },
    );
    return this.rendering;
  }
}
