import { z } from 'zod';
import { type AppNumberLink, appNumberLink } from '../common/app-number-link';
import { type AvailableNumber, availableNumber } from '../common/available-number';
import { type SfvopiApp, sfvopiApp } from '../common/sfvopi-app';

/** One number as Superfone spells it: our fields, `voipNumber` as `voip_number`. */
const { id, voipNumber, provider, status } = availableNumber.shape;
const upstreamNumber = z.object({ id, voip_number: voipNumber, provider, status });

/** An app object (superfone-api.md §3): the fields we hand out; the rest are dropped. */
const upstreamApp = z.object({
  app_id: sfvopiApp.shape.appId,
  name: sfvopiApp.shape.name,
  status: sfvopiApp.shape.status,
  created_at: sfvopiApp.shape.createdAt,
});

/** A link object (superfone-api.md §2.2): the fields we hand out; the rest are dropped. */
const upstreamLink = z.object({
  app_id: appNumberLink.shape.appId,
  voip_number: appNumberLink.shape.voipNumber,
  status: appNumberLink.shape.status,
  created_at: appNumberLink.shape.linkedAt,
});

/**
 * Superfone's 200 envelope (superfone-api.md §4.2) around `data`. Unknown extra fields are
 * dropped; anything missing or mistyped rejects the whole answer, so a half-broken list is never
 * cached.
 */
const envelope = <T extends z.ZodType>(data: T) =>
  z.object({ data, message: z.string().optional() });

const numbersEnvelope = envelope(z.array(upstreamNumber));
const appsEnvelope = envelope(z.array(upstreamApp));
const linksEnvelope = envelope(z.array(upstreamLink));
const linkEnvelope = envelope(upstreamLink);
const unlinkEnvelope = envelope(z.object({ deleted: z.literal(true) }));

const toLink = (l: z.infer<typeof upstreamLink>): AppNumberLink => ({
  appId: l.app_id,
  voipNumber: l.voip_number,
  status: l.status,
  linkedAt: l.created_at,
});

/** GET /sfvopi/available-numbers (§2.1), normalized; undefined when it is not the documented shape. */
export function parseAvailableNumbers(body: unknown): AvailableNumber[] | undefined {
  return numbersEnvelope.safeParse(body).data?.data.map((n) => ({
    id: n.id,
    voipNumber: n.voip_number,
    provider: n.provider,
    status: n.status,
  }));
}

/** GET /sfvopi/apps (§3), normalized, in Superfone's order (newest first). */
export function parseApps(body: unknown): SfvopiApp[] | undefined {
  return appsEnvelope.safeParse(body).data?.data.map((a) => ({
    appId: a.app_id,
    name: a.name,
    status: a.status,
    createdAt: a.created_at,
  }));
}

/** GET /sfvopi/apps/:app_id/numbers (§2.2), normalized. */
export function parseAppNumbers(body: unknown): AppNumberLink[] | undefined {
  return linksEnvelope.safeParse(body).data?.data.map(toLink);
}

/** POST /sfvopi/apps/:app_id/numbers (§2.3): the new link, normalized. */
export function parseLink(body: unknown): AppNumberLink | undefined {
  const link = linkEnvelope.safeParse(body).data?.data;
  return link && toLink(link);
}

/** DELETE /sfvopi/apps/:app_id/numbers/:voip_number (§2.4): true for `{deleted: true}`. */
export function parseUnlink(body: unknown): true | undefined {
  return unlinkEnvelope.safeParse(body).data?.data.deleted;
}

const errorBody = z.object({ message: z.string() });

/** The `message` of Superfone's error body (§4.2), when the text is one. */
export function parseErrorMessage(text: string): string | undefined {
  try {
    const parsed = errorBody.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.message : undefined;
  } catch {
    return undefined;
  }
}
