import type { OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';
import { appNumberLink } from '../common/app-number-link';
import { availableNumber } from '../common/available-number';
import { sfvopiApp } from '../common/sfvopi-app';
import { PROBLEMS } from '../common/problem-codes';

type Schemas = NonNullable<NonNullable<OpenAPIObject['components']>['schemas']>;
type Schema = Schemas[string];

/** The OpenAPI 3.0 schema of what a zod schema outputs. */
function fromZod(schema: z.ZodType): Schema {
  return z.toJSONSchema(schema, { target: 'openapi-3.0' }) as Schema;
}

/** A cached list's body: `{data: [item…], meta: {count, fetchedAt}}`. */
function cachedList(item: string): Schema {
  return {
    type: 'object',
    required: ['data', 'meta'],
    additionalProperties: false,
    properties: {
      data: { type: 'array', items: { $ref: `#/components/schemas/${item}` } },
      meta: {
        type: 'object',
        required: ['count', 'fetchedAt'],
        additionalProperties: false,
        properties: {
          count: { type: 'integer', minimum: 0 },
          fetchedAt: {
            type: 'string',
            format: 'date-time',
            description: 'When Superfone produced this list.',
          },
        },
      },
    },
  };
}

/**
 * Component schemas referenced by the API description (plain OpenAPI 3 objects). Built with the
 * document, on the first request for it: converting zod schemas loads zod's JSON Schema code,
 * which a replica that never serves its docs does not need at boot.
 */
export function openApiSchemas(): Schemas {
  return {
    AvailableNumber: fromZod(availableNumber),
    AvailableNumbers: cachedList('AvailableNumber'),
    App: fromZod(sfvopiApp),
    Apps: cachedList('App'),
    AppNumberLink: fromZod(appNumberLink),
    AppNumbers: cachedList('AppNumberLink'),
    AppNumberLinkAnswer: {
      type: 'object',
      required: ['data'],
      additionalProperties: false,
      properties: { data: { $ref: '#/components/schemas/AppNumberLink' } },
    },
    LinkNumberRequest: {
      type: 'object',
      required: ['voipNumber'],
      additionalProperties: false,
      properties: {
        voipNumber: { type: 'string', pattern: '^\\+[1-9][0-9]{7,14}$', example: '+918000000001' },
      },
    },
    Problem: {
      type: 'object',
      description: 'RFC 9457 problem details; every error answer has this shape.',
      required: ['type', 'title', 'status', 'detail', 'instance', 'code', 'requestId'],
      properties: {
        type: {
          type: 'string',
          format: 'uri',
          example: 'urn:superfone-bff:problem:upstream-timeout',
        },
        title: { type: 'string' },
        status: { type: 'integer' },
        detail: { type: 'string' },
        instance: { type: 'string', example: '/numbers/available' },
        code: { type: 'string', enum: Object.keys(PROBLEMS) },
        requestId: { type: 'string' },
        traceId: { type: 'string', pattern: '^[0-9a-f]{32}$' },
      },
    },
    // Terminus's own vocabulary (HealthCheckStatus, HealthIndicatorStatus): a circuit that is open
    // makes /health/deps 'degraded' with a 200, so a generated client must know that value too.
    HealthIndicator: {
      type: 'object',
      required: ['status'],
      properties: { status: { type: 'string', enum: ['up', 'degraded', 'down'] } },
      additionalProperties: true,
    },
    Health: {
      type: 'object',
      required: ['status', 'details'],
      properties: {
        status: { type: 'string', enum: ['ok', 'degraded', 'error', 'shutting_down'] },
        info: { $ref: '#/components/schemas/HealthIndicators' },
        error: { $ref: '#/components/schemas/HealthIndicators' },
        details: { $ref: '#/components/schemas/HealthIndicators' },
      },
    },
    HealthIndicators: {
      type: 'object',
      description: 'By indicator name (redis, superfone, cache, lifecycle).',
      additionalProperties: { $ref: '#/components/schemas/HealthIndicator' },
    },
  };
}
