import { createSuperfoneBffClient, type SuperfoneBffClient } from '../../clients/typescript/src';

/**
 * The generated client (clients/typescript) on a service a suite started: how the suites call the
 * documented routes with documented inputs, as a company app would. `key` goes out as
 * `Authorization: Bearer <key>` (no credentials when undefined); `headers` go on every call (the
 * X-API-Key scheme, or a credential a test shapes itself). Documented request headers
 * (If-None-Match, X-Request-Id, traceparent, Idempotency-Key) go per call in `params.header`.
 * Its answers pass the contract check (contract.setup.ts) like any other.
 */
export function bffFor(
  service: { readonly url: string },
  key?: string,
  headers?: Record<string, string>,
): SuperfoneBffClient {
  return createSuperfoneBffClient({ baseUrl: service.url, clientKey: key, headers });
}
