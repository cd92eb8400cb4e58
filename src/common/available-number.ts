import { z } from 'zod';

/**
 * One number as the service hands it out (camelCase, the SPEC's 200 body), defined once. The
 * upstream schema checks Superfone's fields with these definitions (superfone.schema.ts), copies
 * read back from Redis are checked against it (cache/shared-copies.ts), and the OpenAPI document's
 * AvailableNumber schema is derived from it (openapi.schemas.ts). Parsing drops unknown fields;
 * the JSON Schema of what it outputs says there are none.
 */
export const availableNumber = z.object({
  id: z.int().nonnegative().meta({ example: 12345 }),
  voipNumber: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/)
    .meta({ description: 'E.164', example: '+918000000001' }),
  provider: z.string().min(1).max(64).meta({ example: 'exotel' }),
  status: z.string().min(1).max(64).meta({ example: 'ACTIVE' }),
});

export type AvailableNumber = Readonly<z.infer<typeof availableNumber>>;
