import { availableNumber } from '../common/available-number';
import { openApiSchemas } from './openapi.schemas';

describe('openApiSchemas', () => {
  const sut = openApiSchemas().AvailableNumber as {
    properties: Record<string, { example: unknown }>;
  };

  it('derives AvailableNumber from the zod shape: every field required, no others', () => {
    expect(sut).toMatchObject({
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
    });
  });

  it('gives examples that the shape accepts', () => {
    const example = Object.fromEntries(
      Object.entries(sut.properties).map(([name, property]) => [name, property.example]),
    );

    expect(availableNumber.parse(example)).toEqual(example);
  });
});
