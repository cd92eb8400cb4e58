import { Counter, Registry } from 'prom-client';
import { METRICS_MAX_AGE_MS, MetricsText } from './metrics-text';

describe(MetricsText.name, () => {
  let now: number;
  let registry: Registry;
  let counter: Counter;
  let renders: jest.SpiedFunction<Registry['metrics']>;
  let sut: MetricsText;

  beforeEach(() => {
    now = 1_000_000;
    registry = new Registry();
    counter = new Counter({ name: 'spec_events_total', help: 'events', registers: [registry] });
    renders = jest.spyOn(registry, 'metrics');
    sut = new MetricsText(registry, () => now);
  });

  const value = (text: string) => /^spec_events_total (\d+)$/m.exec(text)?.[1];

  it('serves one rendering for a second, even though a value changed meanwhile', async () => {
    const first = await sut.render();
    counter.inc();
    now += METRICS_MAX_AGE_MS - 1;
    const second = await sut.render();

    expect(second).toBe(first);
    expect(value(second)).toBe('0');
    expect(renders).toHaveBeenCalledTimes(1);
  });

  it('renders afresh once the text is a second old', async () => {
    await sut.render();
    counter.inc();
    now += METRICS_MAX_AGE_MS;

    expect(value(await sut.render())).toBe('1');
    expect(renders).toHaveBeenCalledTimes(2);
  });

  it('has concurrent scrapes share the rendering in flight', async () => {
    const texts = await Promise.all([sut.render(), sut.render(), sut.render()]);

    expect(new Set(texts).size).toBe(1);
    expect(renders).toHaveBeenCalledTimes(1);
  });

  it('keeps no failed rendering: the next scrape tries again', async () => {
    renders.mockRejectedValueOnce(new Error('collect failed'));

    await expect(sut.render()).rejects.toThrow('collect failed');
    expect(value(await sut.render())).toBe('0');
    expect(renders).toHaveBeenCalledTimes(2);
  });

  it('has the registry’s content type', () => {
    expect(sut.contentType).toBe(registry.contentType);
  });
});
