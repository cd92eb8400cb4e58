import { z } from 'zod';
import { type AvailableNumber, availableNumber } from '../common/available-number';

/** One number as Superfone spells it: our fields, `voipNumber` as `voip_number`. */
const { id, voipNumber, provider, status } = availableNumber.shape;
const upstreamNumber = z.object({ id, voip_number: voipNumber, provider, status });

/**
 * Superfone's 200 envelope for GET /sfvopi/available-numbers (superfone-api.md §2.1).
 * Unknown extra fields are dropped; anything missing or mistyped rejects the whole answer,
 * so a half-broken list is never cached.
 */
const availableNumbersEnvelope = z.object({
  data: z.array(upstreamNumber),
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
