import { z } from 'zod';

/** Scopes a client key can carry. */
export const SCOPES = ['numbers:read', 'numbers:refresh', 'numbers:link', 'apps:read'] as const;
export type Scope = (typeof SCOPES)[number];

/** One configured client app: its id, the SHA-256 of its key, and what it may do. */
export interface ClientKey {
  readonly id: string;
  readonly keySha256: Buffer;
  readonly scopes: ReadonlySet<Scope>;
  /** Overrides RATE_LIMIT_PER_MINUTE for this client. */
  readonly rateLimitPerMinute?: number;
}

const clientKeyEntry = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-"'),
  keySha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (the SHA-256 of the key)'),
  scopes: z.array(z.enum(SCOPES)).min(1, 'must name at least one scope'),
  rateLimitPerMinute: z.int('must be a whole number').min(1).max(1_000_000).optional(),
});
const clientKeyList = z.array(clientKeyEntry).min(1, 'must list at least one client');

/**
 * Parses the CLIENT_KEYS JSON. Problems are pushed as "SETTING[index].field message";
 * the messages never echo a value.
 */
export function parseClientKeys(
  json: string,
  settingName: string,
  problems: string[],
): ClientKey[] {
  if (json === '') return [];
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    problems.push(`${settingName} is not valid JSON`);
    return [];
  }
  const parsed = clientKeyList.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('');
      const message =
        issue.code === 'unrecognized_keys'
          ? `has unknown fields: ${issue.keys.join(', ')}`
          : issue.message;
      problems.push(`${settingName}${path} ${message}`);
    }
    return [];
  }
  const clients = parsed.data.map((entry) => ({
    id: entry.id,
    keySha256: Buffer.from(entry.keySha256, 'hex'),
    scopes: new Set(entry.scopes),
    rateLimitPerMinute: entry.rateLimitPerMinute,
  }));
  const ids = new Set(clients.map((c) => c.id));
  const hashes = new Set(clients.map((c) => c.keySha256.toString('hex')));
  if (ids.size !== clients.length) problems.push(`${settingName} lists the same id twice`);
  if (hashes.size !== clients.length)
    problems.push(`${settingName} lists the same keySha256 twice`);
  return clients;
}
