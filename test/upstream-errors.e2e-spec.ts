import { expect } from '@jest/globals';
import type { StandInBehaviour } from '../tools/superfone-stand-in/superfone-stand-in';
import { KEYS } from './support/client-keys.fixture';
import { parseLogLine } from './support/bodies';
import { defined } from './support/defined';
import { Harness, SERVER_KEY, startHarness } from './support/test-app';

/** One row per failure class of the SPEC's error table that Superfone can cause. */
const rows: Array<[string, StandInBehaviour, number, string]> = [
  [
    '401 (key rejected)',
    {
      kind: 'status',
      status: 401,
      body: '{"message":"UnAuthorized, Please Provide Valid API Key"}',
    },
    502,
    'UPSTREAM_AUTH_FAILED',
  ],
  ['403', { kind: 'status', status: 403 }, 502, 'UPSTREAM_AUTH_FAILED'],
  [
    '500 with its message',
    { kind: 'status', status: 500, body: '{"message":"Failed to get available numbers: db down"}' },
    502,
    'UPSTREAM_ERROR',
  ],
  ['429', { kind: 'status', status: 429, headers: { 'retry-after': '30' } }, 502, 'UPSTREAM_ERROR'],
  [
    '503 HTML page from a load balancer',
    { kind: 'status', status: 503, body: '<html>oops</html>', contentType: 'text/html' },
    502,
    'UPSTREAM_ERROR',
  ],
  ['200 with an HTML body', { kind: 'non-json' }, 502, 'UPSTREAM_BAD_RESPONSE'],
  ['200 with truncated JSON', { kind: 'truncated' }, 502, 'UPSTREAM_BAD_RESPONSE'],
  ['200 with the wrong shape', { kind: 'wrong-shape' }, 502, 'UPSTREAM_BAD_RESPONSE'],
  ['a reset connection', { kind: 'reset' }, 503, 'UPSTREAM_UNAVAILABLE'],
  ['no answer within the deadline', { kind: 'hang' }, 504, 'UPSTREAM_TIMEOUT'],
];

/** What a numbers:read app sees through the generated client. */
describe('Superfone failures', () => {
  let h: Harness;
  const list = () => h.client(KEYS.reader).GET('/numbers/available');

  beforeEach(async () => {
    h = await startHarness({ env: { SUPERFONE_TIMEOUT_MS: '1000' } });
  });
  afterEach(async () => {
    await h.close();
  });

  it.each(rows)(
    'maps Superfone answering %s to the right problem',
    async (_, behaviour, status, code) => {
      h.standIn.setBehaviour(behaviour);

      const { error, response } = await list();

      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
      const body = defined(error, 'the problem');
      expect(body).toEqual({
        type: `urn:superfone-bff:problem:${code.toLowerCase().replaceAll('_', '-')}`,
        title: expect.any(String),
        status,
        detail: expect.any(String),
        instance: '/numbers/available',
        code,
        requestId: response.headers.get('x-request-id'),
        traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
      });
      // Nothing of Superfone's body or our key leaks into the answer.
      const text = JSON.stringify(body);
      expect(text).not.toMatch(/db down|oops|UnAuthorized|<html/);
      expect(text).not.toContain(SERVER_KEY);
      if (status === 503) expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    },
  );

  it('answers 503 when Superfone refuses connections', async () => {
    await h.standIn.stop();

    const { error, response } = await list();

    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('never caches a failed or invalid answer', async () => {
    h.standIn.enqueue({ kind: 'wrong-shape' }, { kind: 'status', status: 500 });

    expect((await list()).response.status).toBe(502);
    expect((await list()).response.status).toBe(502);
    const ok = await list();

    expect(ok.response.status).toBe(200);
    expect(h.standIn.calls).toBe(3);
  });

  it('logs each upstream failure once with its classification, without the key', async () => {
    h.standIn.setBehaviour({ kind: 'status', status: 500 });

    await list();

    const failures = h.logs.filter((line) => line.includes('superfone call failed'));
    expect(failures).toHaveLength(1);
    expect(parseLogLine(failures[0])).toMatchObject({
      level: 40,
      upstream: 'UPSTREAM_ERROR',
      upstreamStatus: 500,
    });
    expect(h.logs.join('\n')).not.toContain(SERVER_KEY);
  });
});
