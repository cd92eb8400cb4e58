import { InvalidRequestError } from '../common/app.error';

/** The optional filters of GET /numbers/available, lower-cased for case-insensitive matching. */
export interface NumbersFilter {
  readonly provider?: string;
  readonly status?: string;
  /** Identifies the filter combination, for memoized views. */
  readonly key: string;
}

const ALLOWED = new Set(['provider', 'status']);
const VALUE = /^[A-Za-z0-9._-]{1,64}$/;
const NO_FILTER: NumbersFilter = { key: '' };

/**
 * Validates the query: only `provider` and `status`, each at most once, each a short token.
 * Anything else is a 400, never silently ignored.
 */
export function parseNumbersFilter(query: unknown): NumbersFilter {
  const entries = Object.entries((query ?? {}) as Record<string, unknown>);
  if (entries.length === 0) return NO_FILTER;
  const filter: { provider?: string; status?: string } = {};
  for (const [name, value] of entries) {
    if (!ALLOWED.has(name)) {
      throw new InvalidRequestError(
        `Unknown query parameter "${truncate(name)}"; allowed: provider, status.`,
      );
    }
    if (Array.isArray(value))
      throw new InvalidRequestError(`Query parameter "${name}" may appear only once.`);
    if (typeof value !== 'string' || !VALUE.test(value)) {
      throw new InvalidRequestError(
        `Query parameter "${name}" must be 1-64 letters, digits, ".", "_" or "-".`,
      );
    }
    filter[name as 'provider' | 'status'] = value.toLowerCase();
  }
  return { ...filter, key: `${filter.provider ?? ''}|${filter.status ?? ''}` };
}

function truncate(name: string): string {
  const printable = name.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 40 ? `${printable.slice(0, 40)}…` : printable;
}
