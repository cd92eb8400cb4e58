import { z } from 'zod';

/**
 * An SFVoPI app id as the service accepts it, in a path or from Superfone (SPEC "Number
 * management": 1–64 of A–Z a–z 0–9 _ -; Superfone's own are `sfv_app_…`).
 */
export const appId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/)
  .meta({ example: 'sfv_app_demo00000001' });

/** When Superfone made something: ISO 8601 (UTC with milliseconds in practice). */
export const upstreamTimestamp = z.iso
  .datetime({ offset: true })
  .meta({ example: '2026-02-02T10:30:00.000Z' });

/**
 * One SFVoPI app as the service hands it out (camelCase, the SPEC's `GET /apps` item), defined
 * once like available-number.ts: Superfone's body is checked with these definitions
 * (superfone.schema.ts) and the OpenAPI schema can be derived from it. Parsing drops unknown fields.
 */
export const sfvopiApp = z.object({
  appId,
  // Superfone's create rule is 1–100 characters.
  name: z.string().min(1).max(100).meta({ example: 'Support line' }),
  status: z.string().min(1).max(64).meta({ description: 'ACTIVE or INACTIVE', example: 'ACTIVE' }),
  createdAt: upstreamTimestamp,
});

export type SfvopiApp = Readonly<z.infer<typeof sfvopiApp>>;
