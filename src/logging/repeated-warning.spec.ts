import pino from 'pino';
import { RepeatedWarning, SUMMARY_INTERVAL_MS } from './repeated-warning';

describe(RepeatedWarning.name, () => {
  it('logs the first warning, counts the rest, and says how many it left out', () => {
    const lines: Record<string, unknown>[] = [];
    let now = 0;
    const logger = pino({ base: undefined }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const warning = new RepeatedWarning(logger, 'redis command failed', () => now);

    for (let i = 0; i < 1000; i++) warning.warn({ operation: 'lock' });
    now = SUMMARY_INTERVAL_MS - 1;
    warning.warn();
    expect(lines).toHaveLength(1);
    now = SUMMARY_INTERVAL_MS;
    warning.warn({ operation: 'cache_read' });
    warning.warn();
    warning.recovered('redis commands work again');
    warning.warn();

    expect(lines).toEqual([
      expect.objectContaining({ level: 40, msg: 'redis command failed', operation: 'lock' }),
      expect.objectContaining({ level: 40, msg: 'redis command failed (1000 more times since the last line)', repeated: 1000, operation: 'cache_read' }),
      expect.objectContaining({ level: 30, msg: 'redis commands work again', repeated: 1 }),
      expect.objectContaining({ level: 40, msg: 'redis command failed' }),
    ]);
  });
});
