/**
 * Every problem the service answers with: code → HTTP status and title (RFC 9457 `title`,
 * constant per type). The SPEC's error table, in one place.
 */
export const PROBLEMS = {
  INVALID_REQUEST: { status: 400, title: 'Invalid request' },
  UNAUTHENTICATED: { status: 401, title: 'Missing or unknown client key' },
  FORBIDDEN: { status: 403, title: 'Client key lacks the required scope' },
  NOT_FOUND: { status: 404, title: 'No such resource' },
  APP_NOT_FOUND: { status: 404, title: 'No such SFVoPI app' },
  NUMBER_NOT_LINKED: { status: 404, title: 'Number not linked to this app' },
  NUMBER_ALREADY_LINKED: { status: 409, title: 'Number already linked to another app' },
  NUMBER_NOT_FOUND: { status: 422, title: 'Number not owned by the organization' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },
  IDEMPOTENCY_KEY_IN_USE: {
    status: 409,
    title: 'A request with this Idempotency-Key is still being processed',
  },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  EXPECTATION_FAILED: { status: 417, title: 'Expectation failed' },
  IDEMPOTENCY_KEY_MISMATCH: {
    status: 422,
    title: 'This Idempotency-Key was used for a different request',
  },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large' },
  RATE_LIMITED: { status: 429, title: 'Rate limit exceeded' },
  UPSTREAM_AUTH_FAILED: { status: 502, title: 'Superfone rejected the server key' },
  UPSTREAM_ERROR: { status: 502, title: 'Superfone answered with an error' },
  UPSTREAM_BAD_RESPONSE: { status: 502, title: 'Superfone sent a response that could not be used' },
  UPSTREAM_UNAVAILABLE: { status: 503, title: 'Superfone is unreachable' },
  UPSTREAM_TIMEOUT: { status: 504, title: 'Superfone did not answer in time' },
  NOT_READY: { status: 503, title: 'Service not ready' },
  INTERNAL: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

/** The problem type URI for a code, e.g. `urn:superfone-bff:problem:invalid-request`. */
export function problemType(code: ProblemCode): string {
  return `urn:superfone-bff:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}
