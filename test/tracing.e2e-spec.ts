import { KEYS } from './support/client-keys.fixture';
import { parseLogLines } from './support/bodies';
import { Harness, startHarness } from './support/test-app';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

/** Through the generated client: traceparent and X-Request-Id are documented request headers. */
describe('W3C trace context', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it("continues the caller's trace to Superfone and into the log line", async () => {
    await h.client(KEYS.reader).GET('/numbers/available', {
      params: { header: { traceparent: CALLER, 'X-Request-Id': 'trace-1' } },
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
    await h.client(KEYS.reader).GET('/numbers/available', { params: { header: { traceparent } } });

    const sent = String(h.standIn.requests[0].headers.traceparent);
    expect(sent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(sent.slice(3, 35)).not.toBe('0'.repeat(32));
  });

  it('puts the trace id into problem bodies', async () => {
    // A documented parameter with a value it does not allow: a 400 problem.
    const { error } = await h.client(KEYS.reader).GET('/numbers/available', {
      params: { query: { provider: 'x y' }, header: { traceparent: CALLER } },
    });

    expect(error?.traceId).toBe(TRACE_ID);
  });
});
