import type { IncomingMessage } from 'node:http';
import { InvalidRequestError } from '../common/app.error';

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/** Longest key accepted, in characters (after unquoting). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/**
 * The draft's syntax: an RFC 8941 sf-string, `"` then printable ASCII (a `"` or `\` escaped with
 * `\`) then `"` (draft-ietf-httpapi-idempotency-key-header §2.1). Parameters are not accepted.
 */
const SF_STRING = /^"((?:[\x20\x21\x23-\x5B\x5D-\x7E]|\\["\\])*)"$/;
/** The lenient form many clients send (Stripe's): the bare key, visible ASCII without `"` or `\`. */
const BARE_KEY = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

const SYNTAX =
  'Idempotency-Key must be one quoted string (RFC 8941 sf-string) or one bare key of 1-255 visible ASCII characters.';

/**
 * The request's Idempotency-Key, or undefined when it sent none (the header is optional here).
 * `"abc"` and `abc` name the same key. Two Idempotency-Key fields, an empty or overlong key, or
 * anything else is a 400 INVALID_REQUEST: guessing which key was meant could run a request twice.
 */
export function idempotencyKeyOf(raw: IncomingMessage): string | undefined {
  let count = 0;
  for (let i = 0; i < raw.rawHeaders.length; i += 2)
    if (raw.rawHeaders[i].toLowerCase() === IDEMPOTENCY_KEY_HEADER) count++;
  if (count === 0) return undefined;
  // Node joins repeated fields with ", ", which a bare key could not tell from one value.
  if (count > 1) throw new InvalidRequestError('Send one Idempotency-Key field, not several.');
  return parseIdempotencyKey(String(raw.headers[IDEMPOTENCY_KEY_HEADER]));
}

/** The key in one Idempotency-Key field value; throws InvalidRequestError when it is not one. */
export function parseIdempotencyKey(value: string): string {
  const trimmed = value.trim();
  const quoted = SF_STRING.exec(trimmed);
  const key = quoted
    ? quoted[1].replace(/\\(["\\])/g, '$1')
    : BARE_KEY.test(trimmed)
      ? trimmed
      : undefined;
  if (key === undefined || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH)
    throw new InvalidRequestError(SYNTAX);
  return key;
}
