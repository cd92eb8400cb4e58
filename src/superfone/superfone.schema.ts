import { z } from 'zod';

/** One number as the service hands it out (camelCase, the SPEC's 200 body). */
export interface AvailableNumber {
  readonly id: number;
  readonly voipNumber: string;
  readonly provider: string;
  readonly status: string;
}

/**
 * Superfone's 200 envelope for GET /sfvopi/available-numbers (superfone-api.md §2.1).
 * Unknown extra fields are dropped; anything missing or mistyped rejects the whole answer,
 * so a half-broken list is never cached.
 */
const availableNumbersEnvelope = z.object({
  data: z.array(
    z.object({
      id: z.number().int().nonnegative(),
      voip_number: z.string().regex(/^\+[1-9]\d{6,14}$/),
      provider: z.string().min(1).max(64),
      status: z.string().min(1).max(64),
    }),
  ),
  message: z.string().optional(),
});

/** Validates and normalizes an upstream body; undefined when it is not the documented shape. */
export function parseAvailableNumbers(body: unknown): AvailableNumber[] | undefined {
  const parsed = availableNumbersEnvelope.safeParse(body);
  if (!parsed.success) return undefined;
  return parsed.data.data.map((n) => ({
    id: n.id,
    voipNumber: n.voip_number,
    provider: n.provider,
    status: n.status,
  }));
}
