import { applyDecorators } from '@nestjs/common';
import { PROBLEMS, ProblemCode } from '../common/problem-codes';
import { deferred, type Swagger } from './swagger-decorators';

const FILTER = { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } as const;

/** A problem+json answer per status, each listing every code that can produce it. */
export function ApiProblems(...codes: ProblemCode[]): MethodDecorator {
  return deferred((swagger) => applyDecorators(...problemResponses(swagger, codes)));
}

function problemResponses(
  { ApiResponse }: Swagger,
  codes: readonly ProblemCode[],
): MethodDecorator[] {
  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of codes)
    byStatus.set(PROBLEMS[code].status, [...(byStatus.get(PROBLEMS[code].status) ?? []), code]);
  return [...byStatus].map(([status, group]) =>
    ApiResponse({
      status,
      description: group.map((c) => `${c}: ${PROBLEMS[c].title}`).join('; '),
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      headers: {
        ...(status === 401 ? { 'WWW-Authenticate': { schema: { type: 'string' } } } : {}),
        ...(status === 429 || status === 503
          ? { 'Retry-After': { schema: { type: 'integer' } } }
          : {}),
        ...(status === 405 ? { Allow: { schema: { type: 'string' } } } : {}),
      },
    }),
  );
}

const CACHE_HEADERS = {
  ETag: { description: 'Strong tag of this exact body.', schema: { type: 'string' } },
  'Cache-Control': {
    description: '`private, max-age=<seconds of freshness left>`',
    schema: { type: 'string' },
  },
  Age: { description: 'Seconds since Superfone produced the list.', schema: { type: 'integer' } },
  'Cache-Status': { description: 'RFC 9211: hit, fwd=miss, stale.', schema: { type: 'string' } },
  'X-Request-Id': { schema: { type: 'string' } },
  RateLimit: { description: 'draft-ietf-httpapi-ratelimit-headers', schema: { type: 'string' } },
  'RateLimit-Policy': { schema: { type: 'string' } },
};

/**
 * Everything the two numbers routes share: auth, filters, answers. Only the GET is conditional
 * (a refresh always produces a new copy, so it always answers 200 with the body).
 */
export function ApiNumbersAnswer({ conditional }: { conditional: boolean }): MethodDecorator {
  return deferred((swagger) => {
    const { ApiBearerAuth, ApiDefaultResponse, ApiHeader, ApiQuery, ApiResponse, ApiSecurity } =
      swagger;
    return applyDecorators(
      ApiBearerAuth('bearer'),
      ApiSecurity('apiKey'),
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
      ApiHeader({
        name: 'X-Request-Id',
        required: false,
        description: 'Echoed when it is 1-128 of A-Z a-z 0-9 . _ : -',
      }),
      ApiHeader({
        name: 'traceparent',
        required: false,
        description: 'W3C Trace Context; passed on to Superfone.',
      }),
      ApiResponse({
        status: 200,
        description: 'The numbers (filtered), with caching headers.',
        content: {
          'application/json': { schema: { $ref: '#/components/schemas/AvailableNumbers' } },
        },
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
      ...problemResponses(swagger, [
        'INVALID_REQUEST',
        'UNAUTHENTICATED',
        'FORBIDDEN',
        'RATE_LIMITED',
        'UPSTREAM_AUTH_FAILED',
        'UPSTREAM_ERROR',
        'UPSTREAM_BAD_RESPONSE',
        'UPSTREAM_UNAVAILABLE',
        'UPSTREAM_TIMEOUT',
      ]),
      // Any other status (500 INTERNAL on an unexpected error) is a problem too.
      ApiDefaultResponse({
        description: 'Any other error: a problem (500 INTERNAL for the unexpected).',
        content: {
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        },
      }),
    );
  });
}
