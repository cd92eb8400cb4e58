import pino from 'pino';
import { RepeatedWarning, SUMMARY_INTERVAL_MS } from './repeated-warning';

describe(RepeatedWarning.name, () => {
  let lines: Record<string, unknown>[];
  let warning: RepeatedWarning;

  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
    lines = [];
    const logger = pino(
      { base: undefined, timestamp: false },
      { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) },
    );
    warning = new RepeatedWarning(logger, 'redis command failed');
  });
  afterEach(() => jest.useRealTimers());

  it('logs the first failure at once and one summary per interval with the count', () => {
    for (let i = 0; i < 1000; i++) warning.warn({ operation: 'lock' });
    expect(lines).toEqual([{ level: 40, msg: 'redis command failed', operation: 'lock' }]);

    jest.advanceTimersByTime(SUMMARY_INTERVAL_MS);

    expect(lines[1]).toEqual({
      level: 40,
      msg: 'redis command failed (999 events since the last line)',
      repeated: 999,
      operation: 'lock',
    });
    jest.advanceTimersByTime(10 * SUMMARY_INTERVAL_MS);
    expect(lines).toHaveLength(2);
  });

  it('flapping between failing and working is one line per interval, ending in the state it is in', () => {
    warning.warn();
    for (let i = 0; i < 50; i++) {
      warning.recovered('redis commands work again');
      warning.warn();
    }
    warning.recovered('redis commands work again');

    jest.advanceTimersByTime(SUMMARY_INTERVAL_MS);

    expect(lines).toEqual([
      { level: 40, msg: 'redis command failed' },
      { level: 30, msg: 'redis commands work again', repeated: 101 },
    ]);
  });

  it('a recovery long after the failure is logged at once; nothing is logged for a recovery nobody heard of', () => {
    warning.recovered('redis commands work again');
    warning.warn();
    jest.advanceTimersByTime(SUMMARY_INTERVAL_MS);
    warning.recovered('redis commands work again');

    expect(lines).toEqual([
      { level: 40, msg: 'redis command failed' },
      { level: 30, msg: 'redis commands work again' },
    ]);
  });
});
