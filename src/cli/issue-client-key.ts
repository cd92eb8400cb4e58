/**
 * Issues a client key: prints the key once (hand it to the client app) and the CLIENT_KEYS entry
 * (only the key's SHA-256) to add to the service's config.
 *
 *   npm run issue-client-key -- billing-app numbers:read
 */
import { issueClientKey } from '../auth/client-keys';
import { Scope, SCOPES } from '../config/client-keys';

function main(argv: string[]): number {
  const [id, ...scopeArgs] = argv;
  const scopes = (scopeArgs.length > 0 ? scopeArgs : ['numbers:read']) as Scope[];
  const unknown = scopes.filter((s) => !SCOPES.includes(s));
  if (!id || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id) || unknown.length > 0) {
    process.stderr.write(
      `usage: issue-client-key <client-id> [scope ...]\n  client-id: 1-64 letters, digits, ".", "_" or "-"\n  scopes: ${SCOPES.join(', ')} (default numbers:read)\n`,
    );
    return 2;
  }
  const { key, entry } = issueClientKey(id, scopes);
  process.stdout.write(
    `Client key for ${id} (shown once; give it to the app, store it as a secret):\n\n  ${key}\n\n` +
      `Add this entry to the JSON array in CLIENT_KEYS (or CLIENT_KEYS_FILE):\n\n  ${JSON.stringify(entry)}\n`,
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
