import { z } from 'zod';
import { InvalidRequestError } from '../common/app.error';
import { appId as appIdSchema } from '../common/sfvopi-app';

/**
 * E.164 as the SPEC takes it from callers: `+`, then 8–15 digits, the first not 0 (no country
 * code starts with 0). Superfone normalises what it is sent; we refuse what it could misread.
 */
const E164 = /^\+[1-9][0-9]{7,14}$/;

/** POST /apps/{appId}/numbers: exactly `{"voipNumber": "+…"}`; any other field is a 400. */
const linkBody = z.strictObject({ voipNumber: z.string() });

export interface LinkTarget {
  readonly appId: string;
  readonly voipNumber: string;
}

/** `appId` from the path: 1–64 of A–Z a–z 0–9 _ -. */
export function parseAppId(params: unknown): string {
  const parsed = appIdSchema.safeParse((params as { appId?: unknown } | undefined)?.appId);
  if (!parsed.success)
    throw new InvalidRequestError('appId must be 1-64 letters, digits, "_" or "-".');
  return parsed.data;
}

/**
 * `voipNumber` from the path. Fastify has already percent-decoded it, so `%2B918…` and a literal
 * `+918…` both arrive as `+918…` (a `+` in a path is not a space: that rule is for query strings).
 */
export function parseVoipNumberParam(params: unknown): string {
  const voipNumber = (params as { voipNumber?: unknown } | undefined)?.voipNumber;
  return checkE164(typeof voipNumber === 'string' ? voipNumber : undefined);
}

/** The link request's body. Fastify has parsed the JSON (malformed JSON never gets here: 400). */
export function parseLinkBody(body: unknown): string {
  const parsed = linkBody.safeParse(body);
  if (!parsed.success) {
    const unknown = parsed.error.issues.find((issue) => issue.code === 'unrecognized_keys');
    throw new InvalidRequestError(
      unknown
        ? 'The body may only carry "voipNumber".'
        : 'The body must be a JSON object {"voipNumber": "+<8-15 digits>"}.',
    );
  }
  return checkE164(parsed.data.voipNumber);
}

function checkE164(value: string | undefined): string {
  if (value === undefined || !E164.test(value))
    throw new InvalidRequestError('voipNumber must be E.164: "+" then 8-15 digits.');
  return value;
}

/** The path of one link, as the Location header names it (`+` sent as %2B). */
export function linkLocation({ appId, voipNumber }: LinkTarget): string {
  return `/apps/${appId}/numbers/${encodeURIComponent(voipNumber)}`;
}
