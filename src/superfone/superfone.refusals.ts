import {
  AppNotFoundError,
  NumberAlreadyLinkedError,
  NumberNotFoundError,
  NumberNotLinkedError,
  NumberRejectedError,
  UpstreamRefusal,
} from './upstream.errors';

// Matched as lower-case prefixes: some messages embed details, and the docs spell the app's 404
// two ways (superfone-api.md §4.2, §4.3).
const APP_NOT_FOUND = ['app not found', 'sfvopi app not found'];
const NOT_LINKED = ['number not linked'];
const NOT_OWNED = ['voip number not found', 'number not found'];

function matches(message: string | undefined, prefixes: readonly string[]): boolean {
  const text = message?.trim().toLowerCase() ?? '';
  return prefixes.some((prefix) => text.startsWith(prefix));
}

/** Superfone's documented refusals of a read of one app's numbers: only the unknown app. */
export function appReadRefusal(status: number, message?: string): UpstreamRefusal | undefined {
  return status === 404 && matches(message, APP_NOT_FOUND)
    ? new AppNotFoundError(status)
    : undefined;
}

/**
 * Superfone's documented refusals of a link or unlink (superfone-api.md §2.3–2.4). A 404 whose
 * message is none of these (a gateway's `Not Found`) is not one: it stays an upstream error.
 */
export function changeRefusal(status: number, message?: string): UpstreamRefusal | undefined {
  if (status === 404 && matches(message, NOT_LINKED)) return new NumberNotLinkedError(status);
  if ((status === 400 || status === 404) && matches(message, NOT_OWNED))
    return new NumberNotFoundError(status);
  if (status === 409) return new NumberAlreadyLinkedError(status);
  if (status === 400) return new NumberRejectedError(status);
  return appReadRefusal(status, message);
}
