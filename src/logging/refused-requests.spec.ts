import type { DestinationStream } from 'pino';
import { AppConfig, AppConfigValues } from '../config/app-config';
import { AppLogger } from './app-logger';
import { RefusedRequests } from './refused-requests';

const INTERVAL_MS = 10_000;

describe(RefusedRequests.name, () => {
  let lines: Record<string, unknown>[];
  let refused: RefusedRequests;

  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
    lines = [];
    const config = new AppConfig({
      logLevel: 'info',
      logFormat: 'json',
      logSummaryIntervalMs: INTERVAL_MS,
    } as AppConfigValues);
    const destination: DestinationStream = {
      write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>),
    };
    refused = new RefusedRequests(new AppLogger(config, destination), config);
  });
  afterEach(() => jest.useRealTimers());

  const summaries = () => lines.filter((l) => l.msg === 'refused requests');

  it('says which refusal to log in full: the first of each kind per interval', () => {
    const first = [
      refused.answered(401, 'UNAUTHENTICATED', undefined),
      refused.answered(401, 'UNAUTHENTICATED', undefined),
      refused.answered(429, 'RATE_LIMITED', 'billing-app'),
      refused.answered(429, 'RATE_LIMITED', 'billing-app'),
      refused.answered(429, 'RATE_LIMITED', 'other-app'),
    ];
    expect(first).toEqual([true, false, true, false, true]);

    jest.advanceTimersByTime(INTERVAL_MS);

    expect(refused.answered(401, 'UNAUTHENTICATED', undefined)).toBe(true);
  });

  it('writes one summary per interval with the counts by status, code and client', () => {
    jest.advanceTimersByTime(1234);
    for (let i = 0; i < 1000; i++) refused.answered(401, 'UNAUTHENTICATED', undefined);
    for (let i = 0; i < 3; i++) refused.clientLeft(401, 'UNAUTHENTICATED');
    for (let i = 0; i < 7; i++) refused.answered(429, 'RATE_LIMITED', 'billing-app');
    expect(summaries()).toEqual([]);

    jest.advanceTimersByTime(INTERVAL_MS - 1);
    expect(summaries()).toEqual([]);
    jest.advanceTimersByTime(1);

    expect(summaries()).toEqual([
      expect.objectContaining({
        level: 30,
        context: 'http',
        periodMs: INTERVAL_MS,
        total: 1010,
        refused: [
          { status: 401, code: 'UNAUTHENTICATED', count: 1003, clientLeft: 3 },
          { status: 429, code: 'RATE_LIMITED', clientId: 'billing-app', count: 7 },
        ],
      }),
    ]);
  });

  it('writes nothing for an interval without refusals, and starts counting afresh', () => {
    refused.answered(401, 'UNAUTHENTICATED', undefined);
    jest.advanceTimersByTime(INTERVAL_MS);
    jest.advanceTimersByTime(10 * INTERVAL_MS);
    refused.answered(401, 'UNAUTHENTICATED', undefined);
    refused.answered(401, 'UNAUTHENTICATED', undefined);
    jest.advanceTimersByTime(INTERVAL_MS);

    expect(summaries().map((l) => l.total)).toEqual([1, 2]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('writes what is pending when the app closes, and nothing when nothing is', () => {
    refused.onApplicationShutdown();
    expect(lines).toEqual([]);

    refused.answered(429, 'RATE_LIMITED', 'billing-app');
    jest.advanceTimersByTime(500);
    refused.onApplicationShutdown();

    expect(summaries()).toEqual([
      expect.objectContaining({
        periodMs: 500,
        total: 1,
        refused: [{ status: 429, code: 'RATE_LIMITED', clientId: 'billing-app', count: 1 }],
      }),
    ]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('never keeps the process alive: the interval timer is unref’d', () => {
    const setTimeoutSpy = jest.spyOn(globalThis, 'setTimeout');
    refused.answered(401, 'UNAUTHENTICATED', undefined);
    const timer = setTimeoutSpy.mock.results[0]?.value as NodeJS.Timeout;
    setTimeoutSpy.mockRestore();

    expect(timer.hasRef()).toBe(false);
  });
});
