import { applyDecorators } from '@nestjs/common';
import { PROBLEMS, ProblemCode } from '../common/problem-codes';
import { deferred, type Swagger } from './swagger-decorators';

const FILTER = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } as const;

/** A problem+json answer per status, each listing every code that can produce it. */
export function ApiProblems(...codes: ProblemCode[]): MethodDecorator {
  return deferred((swagger) => applyDecorators(...problemResponses(swagger, codes)));
}

/** What a problem means on one route, where its title alone would mislead (see the mutations). */
type ProblemNotes = Partial<Record<ProblemCode, string>>;

function problemResponses(
  { ApiResponse }: Swagger,
  codes: readonly ProblemCode[],
  notes: ProblemNotes = {},
): MethodDecorator[] {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of codes)
    byStatus.set(PROBLEMS[code].status, [...(byStatus.get(PROBLEMS[code].status) ?? []), code]);
  return [...byStatus].map(([status, group]) =>
    ApiResponse({
      status,
      description: group.map((c) => `${c}: ${notes[c] ?? PROBLEMS[c].title}`).join('; '),
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      headers: {
        'X-Request-Id': { required: true, schema: { type: 'string' } },
        ...(status === 401
          ? { 'WWW-Authenticate': { required: true, schema: { type: 'string' } } }
          : {}),
        ...(status === 429 || status === 503 || group.includes('IDEMPOTENCY_KEY_IN_USE')
          ? // Always on a 429; on a 503 or 409 only for some of the codes sharing the status.
            { 'Retry-After': { required: status === 429, schema: { type: 'integer' } } }
          : {}),
        ...(status === 405 ? { Allow: { required: true, schema: { type: 'string' } } } : {}),
      },
    }),
  );
}

/** Sent with every cached list (200 and 304); the contract check holds the service to it. */
const CACHE_HEADERS = {
  ETag: {
    required: true,
    description: 'Strong tag of this exact body.',
    schema: { type: 'string' },
  },
  'Cache-Control': {
    required: true,
    description: '`private, max-age=<seconds of freshness left>`',
    schema: { type: 'string' },
  },
  Age: {
    required: true,
    description: 'Seconds since Superfone produced the list.',
    schema: { type: 'integer' },
  },
  'Cache-Status': {
    required: true,
    description: 'RFC 9211: hit, fwd=miss, stale.',
    schema: { type: 'string' },
  },
  'X-Request-Id': { required: true, schema: { type: 'string' } },
  RateLimit: {
    required: true,
    description: 'draft-ietf-httpapi-ratelimit-headers',
    schema: { type: 'string' },
  },
  'RateLimit-Policy': { required: true, schema: { type: 'string' } },
};

const REQUEST_HEADERS = [
  {
    name: 'X-Request-Id',
    required: false,
    description: 'Echoed when it is 1-128 of A-Z a-z 0-9 . _ : -',
  },
  {
    name: 'traceparent',
    required: false,
    description: 'W3C Trace Context; passed on to Superfone.',
  },
];

/** Problems any route that calls Superfone can answer. */
const UPSTREAM_PROBLEMS: ProblemCode[] = [
  'UPSTREAM_AUTH_FAILED',
  'UPSTREAM_ERROR',
  'UPSTREAM_BAD_RESPONSE',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
];

/** Auth, request headers, the given problems and the catch-all problem: what every API route shares. */
function commonParts(
  swagger: Swagger,
  problems: readonly ProblemCode[],
  notes: ProblemNotes = {},
): MethodDecorator[] {
  const { ApiBearerAuth, ApiDefaultResponse, ApiHeader, ApiSecurity } = swagger;
  return [
    ApiBearerAuth('bearer'),
    ApiSecurity('apiKey'),
    ...REQUEST_HEADERS.map((header) => ApiHeader(header)),
    ...problemResponses(
      swagger,
      [
        'INVALID_REQUEST',
        'UNAUTHENTICATED',
        'FORBIDDEN',
        'RATE_LIMITED',
        ...problems,
        ...UPSTREAM_PROBLEMS,
      ],
      notes,
    ),
    // Any other status (500 INTERNAL on an unexpected error) is a problem too.
    ApiDefaultResponse({
      description: 'Any other error: a problem (500 INTERNAL for the unexpected).',
      content: {
        'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
      },
    }),
  ];
}

/** A cached list's 200 (and, when conditional, its 304). */
function cachedListParts(
  { ApiHeader, ApiResponse }: Swagger,
  schema: string,
  description: string,
  conditional: boolean,
): MethodDecorator[] {
  return [
    ApiResponse({
      status: 200,
      description,
      content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } },
      headers: CACHE_HEADERS,
    }),
    ...(conditional
      ? [
          ApiHeader({
            name: 'If-None-Match',
            required: false,
            description: 'An ETag from an earlier answer: 304 if unchanged.',
          }),
          ApiResponse({
            status: 304,
            description: 'Not modified: If-None-Match holds the current ETag. No body.',
            headers: CACHE_HEADERS,
          }),
        ]
      : []),
  ];
}

/**
 * Everything the two numbers routes share: auth, filters, answers. Only the GET is conditional
 * (a refresh always produces a new copy, so it always answers 200 with the body).
 */
export function ApiNumbersAnswer({ conditional }: { conditional: boolean }): MethodDecorator {
  return deferred((swagger) => {
    const { ApiQuery } = swagger;
    return applyDecorators(
      ApiQuery({
        name: 'provider',
        required: false,
        schema: FILTER,
        description: 'Case-insensitive exact match, e.g. exotel, plivo.',
      }),
      ApiQuery({
        name: 'status',
        required: false,
        schema: FILTER,
        description: 'Case-insensitive exact match, e.g. ACTIVE.',
      }),
      ...cachedListParts(
        swagger,
        'AvailableNumbers',
        'The numbers (filtered), with caching headers.',
        conditional,
      ),
      ...commonParts(swagger, []),
    );
  });
}

const APP_ID_PARAM = {
  name: 'appId',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
  description: 'The SFVoPI app, e.g. sfv_app_1a2b3c4d5e6f.',
} as const;
const VOIP_NUMBER_PARAM = {
  name: 'voipNumber',
  schema: { type: 'string', pattern: '^\\+[1-9][0-9]{7,14}$' },
  description: 'E.164; send the + as %2B (a literal + is accepted too).',
} as const;
const IDEMPOTENCY_KEY = {
  name: 'Idempotency-Key',
  required: false,
  schema: { type: 'string' },
  description:
    'Optional (IETF httpapi draft), per client: a quoted string ("abc") or a bare key (abc) of 1-255 visible ASCII characters. ' +
    'The first final answer is kept 24 h: a 2xx, or a 404/409/422 problem. A repeat with the same key, method, path and body replays it ' +
    '(Idempotent-Replayed: true) without calling Superfone; with another request it is 422 IDEMPOTENCY_KEY_MISMATCH; while the first runs, ' +
    '409 IDEMPOTENCY_KEY_IN_USE. Other answers (400, 413, 415, 429, 5xx) are not kept: a retry with the same key runs again.',
} as const;
const MUTATION_HEADERS = {
  'X-Request-Id': { required: true, schema: { type: 'string' } },
  'Cache-Control': { required: true, description: '`no-store`', schema: { type: 'string' } },
  'Idempotent-Replayed': {
    description: '`true` on a replayed answer (a replayed 404/409/422 problem carries it too).',
    schema: { type: 'string', enum: ['true'] },
  },
};
/** What a 503 or a 504 means for a link or unlink (their titles speak of reads). */
const MUTATION_NOTES: ProblemNotes = {
  UPSTREAM_TIMEOUT:
    "Superfone did not confirm whether the change was made (no answer in time, a reset, or a 502/503/504), and the app's list read afterwards did not show it; it may still land. A retry is safe",
  UPSTREAM_UNAVAILABLE:
    'Superfone could not be reached (the request never left) or the circuit is open',
};

/** GET /apps: the organization's SFVoPI apps, cached like the numbers. */
export function ApiAppsAnswer(): MethodDecorator {
  return deferred((swagger) =>
    applyDecorators(
      ...cachedListParts(swagger, 'Apps', 'The SFVoPI apps, newest first.', true),
      ...commonParts(swagger, []),
    ),
  );
}

/** GET /apps/{appId}/numbers: the numbers linked to one app, cached like the numbers. */
export function ApiAppNumbersAnswer(): MethodDecorator {
  return deferred((swagger) =>
    applyDecorators(
      swagger.ApiParam(APP_ID_PARAM),
      ...cachedListParts(swagger, 'AppNumbers', 'The numbers linked to this app.', true),
      ...commonParts(swagger, ['APP_NOT_FOUND']),
    ),
  );
}

/** POST /apps/{appId}/numbers: link a number. */
export function ApiLinkAnswer(): MethodDecorator {
  return deferred((swagger) => {
    const { ApiBody, ApiHeader, ApiParam, ApiResponse } = swagger;
    const link = {
      'application/json': { schema: { $ref: '#/components/schemas/AppNumberLinkAnswer' } },
    };
    return applyDecorators(
      ApiParam(APP_ID_PARAM),
      ApiHeader(IDEMPOTENCY_KEY),
      ApiBody({ required: true, schema: { $ref: '#/components/schemas/LinkNumberRequest' } }),
      ApiResponse({
        status: 201,
        description: 'Linked. Location names the link.',
        content: link,
        headers: {
          ...MUTATION_HEADERS,
          Location: {
            required: true,
            description: 'The link: `/apps/{appId}/numbers/%2B<digits>` (the + percent-encoded).',
            schema: { type: 'string' },
          },
        },
      }),
      ApiResponse({
        status: 200,
        description: 'The number was already linked to this app: the link, unchanged.',
        content: link,
        headers: MUTATION_HEADERS,
      }),
      ...commonParts(
        swagger,
        [
          'APP_NOT_FOUND',
          'NUMBER_NOT_FOUND',
          'NUMBER_ALREADY_LINKED',
          'PAYLOAD_TOO_LARGE',
          'UNSUPPORTED_MEDIA_TYPE',
          'IDEMPOTENCY_KEY_MISMATCH',
          'IDEMPOTENCY_KEY_IN_USE',
        ],
        MUTATION_NOTES,
      ),
    );
  });
}

/** DELETE /apps/{appId}/numbers/{voipNumber}: unlink a number. */
export function ApiUnlinkAnswer(): MethodDecorator {
  return deferred((swagger) => {
    const { ApiHeader, ApiParam, ApiResponse } = swagger;
    return applyDecorators(
      ApiParam(APP_ID_PARAM),
      ApiParam(VOIP_NUMBER_PARAM),
      ApiHeader(IDEMPOTENCY_KEY),
      ApiResponse({
        status: 204,
        description:
          "Unlinked: the number is available again (also when Superfone's answer was lost and the app's list shows it gone).",
        headers: MUTATION_HEADERS,
      }),
      // The route takes no body; one sent anyway is parsed like any body (hence 413 and 415) and ignored.
      ...commonParts(
        swagger,
        [
          'APP_NOT_FOUND',
          'NUMBER_NOT_LINKED',
          'PAYLOAD_TOO_LARGE',
          'UNSUPPORTED_MEDIA_TYPE',
          'IDEMPOTENCY_KEY_MISMATCH',
          'IDEMPOTENCY_KEY_IN_USE',
        ],
        MUTATION_NOTES,
      ),
    );
  });
}
