import { KEYS } from './support/client-keys.fixture';
import { parseLogLines, readProblem } from './support/bodies';
import { bearer, Harness, startHarness } from './support/test-app';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

describe('W3C trace context', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("continues the caller's trace to Superfone and into the log line", async () => {
    await h.get('/numbers/available', {
      ...bearer(KEYS.reader),
      traceparent: CALLER,
      'x-request-id': 'trace-1',
    });

    const sent = String(h.standIn.requests[0].headers.traceparent);
    expect(sent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(sent).not.toBe(CALLER);
    const line = parseLogLines(h.logs).find((l) => l.requestId === 'trace-1');
    expect(line?.traceId).toBe(TRACE_ID);
  });

  it.each([
    ['no traceparent', undefined],
    ['a malformed one', 'garbage'],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
  ])('starts a new trace on %s', async (_, traceparent) => {
    const headers: Record<string, string> = { ...bearer(KEYS.reader) };
    if (traceparent) headers.traceparent = traceparent;

    await h.get('/numbers/available', headers);

    const sent = String(h.standIn.requests[0].headers.traceparent);
    expect(sent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(sent.slice(3, 35)).not.toBe('0'.repeat(32));
  });

  it('puts the trace id into problem bodies', async () => {
    const res = await h.get('/numbers/available?x=1', {
      ...bearer(KEYS.reader),
      traceparent: CALLER,
    });

    expect((await readProblem(res)).traceId).toBe(TRACE_ID);
  });
});
