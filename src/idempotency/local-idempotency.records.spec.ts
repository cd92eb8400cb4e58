import { ANSWER_TTL_MS, type IdempotentAnswer } from './idempotency.record';
import { LocalIdempotencyRecords, MAX_LOCAL_RECORDS } from './local-idempotency.records';

/** The in-process records on a clock the test moves (no sleeps); their Redis twin is tested in test/idempotency-store. */
describe(LocalIdempotencyRecords.name, () => {
  const answer: IdempotentAnswer = { kind: 'response', status: 201, headers: {}, body: { ok: 1 } };
  const RUNNING_TTL_MS = 14_000;
  let now: number;
  const clock = () => now;
  const id = (key: string, clientId = 'app-a') => ({ clientId, key });

  beforeEach(() => {
    now = 1_000_000;
  });

  it('one claim, then in use; complete replays; another fingerprint is a mismatch', () => {
    const sut = new LocalIdempotencyRecords(10, clock);

    expect(sut.claim(id('k'), 'fp', 't1', RUNNING_TTL_MS)).toEqual({ kind: 'claimed' });
    expect(sut.claim(id('k'), 'fp', 't2', RUNNING_TTL_MS)).toEqual({ kind: 'running' });
    expect(sut.claim(id('k'), 'other', 't2', RUNNING_TTL_MS)).toEqual({ kind: 'mismatch' });
    sut.complete(id('k'), 'fp', 't1', answer);

    expect(sut.claim(id('k'), 'fp', 't3', RUNNING_TTL_MS)).toEqual({ kind: 'done', answer });
    expect(sut.claim(id('k'), 'other', 't3', RUNNING_TTL_MS)).toEqual({ kind: 'mismatch' });
    expect(sut.claim(id('k', 'app-b'), 'other', 't4', RUNNING_TTL_MS)).toEqual({ kind: 'claimed' });
  });

  it('a running claim frees itself after its TTL; a kept answer lasts 24 h', () => {
    const sut = new LocalIdempotencyRecords(10, clock);
    sut.claim(id('crashed'), 'fp', 't1', RUNNING_TTL_MS);
    sut.claim(id('kept'), 'fp', 't1', RUNNING_TTL_MS);
    sut.complete(id('kept'), 'fp', 't1', answer);

    now += RUNNING_TTL_MS - 1;
    expect(sut.claim(id('crashed'), 'fp', 't2', RUNNING_TTL_MS).kind).toBe('running');
    now += 1;
    expect(sut.claim(id('crashed'), 'fp', 't2', RUNNING_TTL_MS).kind).toBe('claimed');
    now += ANSWER_TTL_MS - RUNNING_TTL_MS - 1;
    expect(sut.claim(id('kept'), 'fp', 't2', RUNNING_TTL_MS).kind).toBe('done');
    now += 1;
    expect(sut.claim(id('kept'), 'fp', 't2', RUNNING_TTL_MS).kind).toBe('claimed');
  });

  it('release frees only its own claim; a late complete never overwrites the next request', () => {
    const sut = new LocalIdempotencyRecords(10, clock);
    sut.claim(id('k'), 'fp', 't1', RUNNING_TTL_MS);
    sut.release(id('k'), 'someone-else');
    expect(sut.claim(id('k'), 'fp', 't2', RUNNING_TTL_MS).kind).toBe('running');
    sut.release(id('k'), 't1');
    expect(sut.claim(id('k'), 'fp', 't2', RUNNING_TTL_MS).kind).toBe('claimed');

    sut.complete(id('k'), 'fp', 't1', answer);

    expect(sut.claim(id('k'), 'fp', 't3', RUNNING_TTL_MS).kind).toBe('running');
  });

  it(`holds at most ${MAX_LOCAL_RECORDS} records by default, dropping the least recently used`, () => {
    const sut = new LocalIdempotencyRecords(undefined, clock);
    for (let i = 0; i <= MAX_LOCAL_RECORDS; i++)
      sut.claim(id(`k${i}`), 'fp', `t${i}`, RUNNING_TTL_MS);

    expect(sut.size).toBe(MAX_LOCAL_RECORDS);
    expect(sut.has(id('k0'))).toBe(false);
    expect(sut.has(id(`k${MAX_LOCAL_RECORDS}`))).toBe(true);
  });

  it('a record read lately is kept over older ones', () => {
    const sut = new LocalIdempotencyRecords(3, clock);
    for (const key of ['a', 'b', 'c']) sut.claim(id(key), 'fp', key, RUNNING_TTL_MS);

    sut.claim(id('a'), 'fp', 'retry', RUNNING_TTL_MS);
    sut.claim(id('d'), 'fp', 'd', RUNNING_TTL_MS);

    expect(['a', 'b', 'c', 'd'].filter((key) => sut.has(id(key)))).toEqual(['a', 'c', 'd']);
  });
});
