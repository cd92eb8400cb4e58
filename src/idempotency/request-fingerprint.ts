import { createHash } from 'node:crypto';

/**
 * What makes two requests "the same request" for one Idempotency-Key (the draft's idempotency
 * fingerprint): the method, the path with each segment's percent-encoding normalized (`%2B91…`
 * and `+91…` name one number), and the SHA-256 of the JSON body with object keys sorted (key
 * order and whitespace do not change what was asked). The query string is not part of it.
 */
export function requestFingerprint(method: string, url: string, body: unknown): string {
  const bodyHash = sha256(body === undefined ? '' : canonicalJson(body));
  return sha256(`${method.toUpperCase()}\n${normalizedPath(url)}\n${bodyHash}`);
}

/** `/apps/a/numbers/+91…?x` → `/apps/a/numbers/%2B91…`: each segment decoded, then re-encoded. */
export function normalizedPath(url: string): string {
  return url
    .split('?', 1)[0]
    .split('/')
    .map((segment) => encodeURIComponent(decodedSegment(segment)))
    .join('/');
}

function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // A malformed escape stays as written: it cannot equal a well-formed path anyway.
    return segment;
  }
}

/** JSON with object keys sorted at every level. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
