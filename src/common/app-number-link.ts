import { z } from 'zod';
import { availableNumber } from './available-number';
import { appId, upstreamTimestamp } from './sfvopi-app';

/**
 * A number linked to an SFVoPI app as the service hands it out (camelCase, the SPEC's
 * `GET /apps/{appId}/numbers` item and `POST` body), defined once like available-number.ts.
 * `linkedAt` is Superfone's `created_at` of the link.
 */
export const appNumberLink = z.object({
  appId,
  voipNumber: availableNumber.shape.voipNumber,
  status: z.string().min(1).max(64).meta({ example: 'ACTIVE' }),
  linkedAt: upstreamTimestamp,
});

export type AppNumberLink = Readonly<z.infer<typeof appNumberLink>>;
