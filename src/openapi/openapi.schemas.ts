import type { OpenAPIObject } from '@nestjs/swagger';
import { PROBLEMS } from '../common/problem-codes';

type Schemas = NonNullable<NonNullable<OpenAPIObject['components']>['schemas']>;

/** Component schemas referenced by the API description (plain OpenAPI 3 objects). */
export const OPENAPI_SCHEMAS: Schemas = {
  AvailableNumber: {
    type: 'object',
    required: ['id', 'voipNumber', 'provider', 'status'],
    additionalProperties: false,
    properties: {
      id: { type: 'integer', example: 12345 },
      voipNumber: {
        type: 'string',
        pattern: '^\\+[1-9]\\d{6,14}$',
        description: 'E.164',
        example: '+918000000001',
      },
      provider: { type: 'string', example: 'exotel' },
      status: { type: 'string', example: 'ACTIVE' },
    },
  },
  AvailableNumbers: {
    type: 'object',
    required: ['data', 'meta'],
    additionalProperties: false,
    properties: {
      data: { type: 'array', items: { $ref: '#/components/schemas/AvailableNumber' } },
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
  Health: {
    type: 'object',
    required: ['status'],
    properties: {
      status: { type: 'string', enum: ['ok', 'error'] },
      info: { type: 'object' },
      error: { type: 'object' },
      details: { type: 'object' },
    },
  },
};
