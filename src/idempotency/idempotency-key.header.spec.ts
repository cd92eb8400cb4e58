import type { IncomingMessage } from 'node:http';
import { AppError } from '../common/app.error';
import { idempotencyKeyOf, parseIdempotencyKey } from './idempotency-key.header';

/** What Node hands a handler for these raw header lines (repeated fields joined with ", "). */
function rawRequest(...lines: [string, string][]): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of lines) {
    const lower = name.toLowerCase();
    headers[lower] = lower in headers ? `${headers[lower]}, ${value}` : value;
  }
  return { rawHeaders: lines.flat(), headers } as unknown as IncomingMessage;
}

function refusal(run: () => unknown): AppError | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  return undefined;
}

describe(idempotencyKeyOf.name, () => {
  it('reads the draft\'s sf-string, unescaping \\" and \\\\', () => {
    expect(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toBe(
      '8e03978e-40d5-43e8-bc93-6894a57f9324',
    );
    expect(parseIdempotencyKey(String.raw`"a \"quoted\" key \\ here"`)).toBe(
      String.raw`a "quoted" key \ here`,
    );
  });

  it('accepts a bare key too, naming the same key as its quoted form', () => {
    expect(parseIdempotencyKey('order-42')).toBe(parseIdempotencyKey('"order-42"'));
  });

  it('takes 1 to 255 characters', () => {
    expect(parseIdempotencyKey('k'.repeat(255))).toHaveLength(255);
    expect(parseIdempotencyKey(`"${'k'.repeat(255)}"`)).toHaveLength(255);
    for (const value of ['', '""', 'k'.repeat(256), `"${'k'.repeat(256)}"`])
      expect(refusal(() => parseIdempotencyKey(value))?.code).toBe('INVALID_REQUEST');
  });

  it.each([
    ['an unterminated string', '"abc'],
    ['parameters', '"abc";v=1'],
    ['a list', '"a", "b"'],
    ['a space in a bare key', 'a b'],
    ['a lone backslash escape', String.raw`"a\b"`],
    ['a non-ASCII character', '"clé"'],
    ['a control character', '"a\tb"'],
  ])('refuses %s with 400 INVALID_REQUEST', (_what, value) => {
    const error = refusal(() => parseIdempotencyKey(value));
    expect(error?.status).toBe(400);
    expect(error?.detail).toContain('sf-string');
  });

  it('is optional: no field, no key', () => {
    expect(idempotencyKeyOf(rawRequest(['Accept', '*/*']))).toBeUndefined();
  });

  it('finds the field whatever its case', () => {
    expect(idempotencyKeyOf(rawRequest(['IDEMPOTENCY-KEY', '"k1"']))).toBe('k1');
  });

  it('refuses two Idempotency-Key fields, even with bare keys Node would join into one value', () => {
    const error = refusal(() =>
      idempotencyKeyOf(rawRequest(['Idempotency-Key', 'a'], ['idempotency-key', 'a'])),
    );
    expect(error?.code).toBe('INVALID_REQUEST');
    expect(error?.detail).toBe('Send one Idempotency-Key field, not several.');
  });
});
