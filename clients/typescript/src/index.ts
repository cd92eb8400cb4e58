/**
 * A typed client for superfone-bff. The types come from the service's openapi.json
 * (openapi-typescript, `npm run generate`); calls go through openapi-fetch, so every path,
 * parameter, body and answer (problems included) is checked by the compiler.
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths } from './schema';

export type { components, operations, paths };

type Schemas = components['schemas'];
/** Every error answer: RFC 9457 problem details with the service's stable `code`. */
export type Problem = Schemas['Problem'];
export type ProblemCode = Problem['code'];
export type AvailableNumbers = Schemas['AvailableNumbers'];
export type AvailableNumber = Schemas['AvailableNumber'];
export type Apps = Schemas['Apps'];
export type App = Schemas['App'];
export type AppNumbers = Schemas['AppNumbers'];
export type AppNumberLink = Schemas['AppNumberLink'];
export type Health = Schemas['Health'];

export type SuperfoneBffClient = Client<paths>;

export interface SuperfoneBffClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** Where the service answers, e.g. `https://superfone-bff.internal`. */
  readonly baseUrl: string;
  /** This app's client key (never the Superfone key). Sent as `Authorization: Bearer <key>`. */
  readonly clientKey?: string;
}

/** A client for one service URL, sending this app's key on every call. */
export function createSuperfoneBffClient({
  baseUrl,
  clientKey,
  headers,
  ...options
}: SuperfoneBffClientOptions): SuperfoneBffClient {
  return createClient<paths>({
    ...options,
    baseUrl,
    headers: {
      ...(clientKey === undefined ? {} : { authorization: `Bearer ${clientKey}` }),
      ...(headers as Record<string, string> | undefined),
    },
  });
}

/** The `voipNumber` path segment as the service expects it: the `+` sent as `%2B`. */
export function voipNumberPath(voipNumber: string): string {
  return encodeURIComponent(voipNumber);
}
