import { expect } from '@jest/globals';
import { KEYS } from './support/client-keys.fixture';
import { openRaw, RawConnection, within } from './support/raw-http';
import { Harness, startHarness } from './support/test-app';

/**
 * Answers are held until the end of the event-loop turn that produced them, or until the next
 * answer is ready once a batch has waited MAX_HOLD_MS, and then written together
 * (src/common/coalesced-writes.ts). Whatever arrives in one turn must still get its own answer,
 * pipelined answers must keep their order, and clients that leave before their answer is written
 * must cost nobody else theirs.
 */
const WAIT_MS = 10_000;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Splits the bytes of one connection into the whole answers they hold (Content-Length framing). */
function answersIn(text: string): Answer[] {
  const answers: Answer[] = [];
  let rest = Buffer.from(text, 'utf8');
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return answers;
    const [statusLine, ...lines] = rest.subarray(0, end).toString('utf8').split('\r\n');
    const headers = Object.fromEntries(
      lines.map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    const status = Number(statusLine.split(' ')[1]);
    const length = status === 304 ? 0 : Number(headers['content-length'] ?? 0);
    if (rest.length < end + 4 + length) return answers;
    answers.push({
      status,
      headers,
      body: rest.subarray(end + 4, end + 4 + length).toString('utf8'),
    });
    rest = rest.subarray(end + 4 + length);
  }
}

function request(path: string, requestId: string, headers: Record<string, string> = {}): string {
  const lines = Object.entries({ host: 'x', 'x-request-id': requestId, ...headers }).map(
    ([name, value]) => `${name}: ${value}\r\n`,
  );
  return `GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

const READER = { authorization: `Bearer ${KEYS.reader}` };

describe('answers written at the end of their event-loop turn', () => {
  let h: Harness;
  let fullList: string;
  let etag: string;
  const open: RawConnection[] = [];
  const connect = async (n: number) => {
    const connections = await Promise.all(Array.from({ length: n }, () => openRaw(h.url)));
    open.push(...connections);
    return connections;
  };

  beforeAll(async () => {
    h = await startHarness();
    const res = await h.get('/numbers/available', READER);
    expect(res.status).toBe(200);
    fullList = await res.text();
    etag = res.headers.get('etag') ?? '';
    expect(etag).not.toBe('');
  });
  afterEach(() => {
    for (const connection of open.splice(0)) connection.destroy();
  });
  afterAll(async () => {
    await h.close();
  });

  it('gives each of many requests sent at once its own answer', async () => {
    const kinds = [
      { path: '/numbers/available', headers: READER, status: 200 },
      { path: '/numbers/available?provider=plivo', headers: READER, status: 200 },
      { path: '/numbers/available', headers: { ...READER, 'if-none-match': etag }, status: 304 },
      { path: '/numbers/available', headers: {}, status: 401 },
      { path: '/health/live', headers: {}, status: 200 },
    ] as const;
    const connections = await connect(40);
    const sent = connections.map((_, i) => ({
      requestId: `turn-${i}`,
      ...kinds[i % kinds.length],
    }));
    // Every request is written in this one turn of the test's loop, so the server reads them
    // close together and answers many of them in the same turn of its own.
    connections.forEach((connection, i) => {
      connection.write(request(sent[i].path, sent[i].requestId, sent[i].headers));
    });

    const answers = await Promise.all(
      connections.map(async (connection) => {
        const text = await within(
          connection.receivedUntil((received) => answersIn(received).length === 1),
          WAIT_MS,
          'an answer',
        );
        return answersIn(text)[0];
      }),
    );

    answers.forEach((answer, i) => {
      const { requestId, path, status } = sent[i];
      expect({ requestId, status: answer.status }).toEqual({ requestId, status });
      expect(answer.headers['x-request-id']).toBe(requestId);
      if (status === 304) {
        expect(answer.body).toBe('');
        expect(answer.headers.etag).toBe(etag);
      } else if (status === 401) {
        expect(JSON.parse(answer.body)).toMatchObject({ status: 401, requestId });
      } else if (path === '/numbers/available') {
        expect(answer.body).toBe(fullList);
      } else if (path.includes('provider=plivo')) {
        const { data } = JSON.parse(answer.body) as { data: { provider: string }[] };
        expect(data.length).toBeGreaterThan(0);
        expect(data.every((n) => n.provider.toLowerCase() === 'plivo')).toBe(true);
      } else {
        expect(JSON.parse(answer.body)).toMatchObject({ status: 'ok' });
      }
    });
  });

  it('answers pipelined requests on one connection in the order they were sent', async () => {
    const [connection] = await connect(1);
    connection.write(
      request('/numbers/available', 'p-1', READER) +
        request('/numbers/available', 'p-2', { ...READER, 'if-none-match': etag }) +
        request('/numbers/available', 'p-3') +
        request('/health/live', 'p-4'),
    );

    const text = await within(
      connection.receivedUntil((received) => answersIn(received).length === 4),
      WAIT_MS,
      'four answers',
    );

    expect(answersIn(text).map((a) => [a.headers['x-request-id'], a.status])).toEqual([
      ['p-1', 200],
      ['p-2', 304],
      ['p-3', 401],
      ['p-4', 200],
    ]);
    expect(answersIn(text)[0].body).toBe(fullList);
  });

  it('still answers everyone else when clients leave before their answer is written', async () => {
    const connections = await connect(20);
    connections.forEach((connection, i) => {
      connection.write(request('/numbers/available', `leave-${i}`, READER));
      // Half hang up in the same turn they asked: their answers are written to closed sockets.
      if (i % 2 === 0) connection.destroy();
    });

    const staying = connections.filter((_, i) => i % 2 === 1);
    const answers = await Promise.all(
      staying.map(async (connection) => {
        const text = await within(
          connection.receivedUntil((received) => answersIn(received).length === 1),
          WAIT_MS,
          'an answer',
        );
        return answersIn(text)[0];
      }),
    );

    expect(answers.map((a) => a.status)).toEqual(staying.map(() => 200));
    expect(answers.map((a) => a.headers['x-request-id'])).toEqual(
      staying.map((_, j) => `leave-${2 * j + 1}`),
    );
    const after = await h.get('/numbers/available', READER);
    expect(after.status).toBe(200);
    expect(await after.text()).toBe(fullList);
  });
});
