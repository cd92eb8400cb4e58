import { sha256 } from '../../src/auth/client-keys';
import type { Scope } from '../../src/config/client-keys';

/**
 * The client keys of the e2e suites: one place that builds CLIENT_KEYS entries (id, SHA-256 of the
 * key, scopes, optional rate limit) the way an operator writes them.
 */

/** Client keys used across the suites, by role. */
export const KEYS = {
  reader: 'sfb_reader-key-e2e-0000000000000000000001',
  refresher: 'sfb_refresher-key-e2e-000000000000000000002',
  refreshOnly: 'sfb_refresh-only-key-e2e-00000000000000003',
  linker: 'sfb_linker-key-e2e-0000000000000000000000004',
  otherLinker: 'sfb_other-linker-key-e2e-00000000000000005',
} as const;

/** One CLIENT_KEYS entry, as JSON.stringify writes it. */
export interface ClientKeyEntry {
  readonly id: string;
  readonly keySha256: string;
  readonly scopes: readonly Scope[];
  readonly rateLimitPerMinute?: number;
}

/** The entry that admits `key` as client `id`. */
export function clientKeyEntry(
  id: string,
  key: string,
  scopes: readonly Scope[],
  rateLimitPerMinute?: number,
): ClientKeyEntry {
  return {
    id,
    keySha256: sha256(key).toString('hex'),
    scopes,
    ...(rateLimitPerMinute === undefined ? {} : { rateLimitPerMinute }),
  };
}

/** The entries for KEYS: reader-app reads, refresher-app reads and refreshes, refresh-only-app refreshes. */
export const CLIENTS = {
  reader: clientKeyEntry('reader-app', KEYS.reader, ['numbers:read']),
  refresher: clientKeyEntry('refresher-app', KEYS.refresher, ['numbers:read', 'numbers:refresh']),
  refreshOnly: clientKeyEntry('refresh-only-app', KEYS.refreshOnly, ['numbers:refresh']),
  linker: clientKeyEntry('linker-app', KEYS.linker, ['numbers:read', 'apps:read', 'numbers:link']),
  otherLinker: clientKeyEntry('other-linker-app', KEYS.otherLinker, [
    'numbers:read',
    'apps:read',
    'numbers:link',
  ]),
} as const;

/** A CLIENT_KEYS value listing `entries`. */
export const clientKeysJson = (entries: readonly ClientKeyEntry[]): string =>
  JSON.stringify(entries);

/** CLIENT_KEYS with the role clients: what every harness starts with unless a test says otherwise. */
export const CLIENT_KEYS_JSON = clientKeysJson([
  CLIENTS.reader,
  CLIENTS.refresher,
  CLIENTS.refreshOnly,
  CLIENTS.linker,
  CLIENTS.otherLinker,
]);
