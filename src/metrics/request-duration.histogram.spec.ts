import { Histogram, Registry } from 'prom-client';
import { RequestDurationHistogram } from './request-duration.histogram';

const config = { name: 'req_seconds', help: 'Request time.', buckets: [0.001, 0.01, 0.1, 1] };
const observations: [string, string, number, number][] = [
  ['/numbers/available', 'GET', 200, 0.0004],
  ['/numbers/available', 'GET', 200, 0.001],
  ['/numbers/available', 'GET', 200, 0.05],
  ['/numbers/available', 'GET', 304, 0.0002],
  ['/numbers/available', 'GET', 200, 7],
  ['/numbers/available/refresh', 'POST', 502, 0.3],
];

describe(RequestDurationHistogram.name, () => {
  it('exposes exactly what a prom-client Histogram fed the same observations exposes', async () => {
    const ours = new Registry();
    const sut = new RequestDurationHistogram({ ...config, registry: ours });
    const reference = new Registry();
    const histogram = new Histogram({
      ...config,
      labelNames: ['route', 'method', 'status_code'],
      registers: [reference],
    });

    for (const [route, method, status, seconds] of observations) {
      sut.seriesFor(route, method, status).observe(seconds);
      histogram.observe({ route, method, status_code: String(status) }, seconds);
    }

    expect(await ours.metrics()).toBe(await reference.metrics());
    expect(await ours.metrics()).toContain(
      'req_seconds_bucket{le="0.001",route="/numbers/available",method="GET",status_code="200"} 2',
    );
  });

  it('starts empty again after the registry resets its metrics', async () => {
    const registry = new Registry();
    const sut = new RequestDurationHistogram({ ...config, registry });
    sut.seriesFor('/x', 'GET', 200).observe(0.5);

    registry.resetMetrics();

    expect(await registry.metrics()).toBe(
      '# HELP req_seconds Request time.\n# TYPE req_seconds histogram\n',
    );
  });
});
