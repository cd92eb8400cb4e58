import { z } from 'zod';
import type { components, operations } from '../../clients/typescript/src';
import { bffFor } from './bff-client';
import { bearer, type Harness } from './test-app';

/** The stand-in's demo apps (demoApps()) and a number of its demo list. */
export const APP_1 = 'sfv_app_demo00000001';
export const APP_2 = 'sfv_app_demo00000002';
export const NUMBER = '+918000000001';
export const NUMBER_IN_PATH = '%2B918000000001';

const link = z.strictObject({
  appId: z.string(),
  voipNumber: z.string(),
  status: z.string(),
  linkedAt: z.string(),
});

/** 200/201 of POST /apps/{appId}/numbers, for suites that read the answer as text. */
export const linkAnswer = z.strictObject({ data: link });

type LinkRequest = components['schemas']['LinkNumberRequest'];
type LinkHeader = NonNullable<operations['AppsController_link']['parameters']['header']>;
type UnlinkHeader = NonNullable<operations['AppsController_unlink']['parameters']['header']>;

/** POST /apps/{appId}/numbers through the generated client; documented headers in `header`. */
export function postLink(
  h: Pick<Harness, 'url'>,
  key: string,
  appId: string,
  body: LinkRequest,
  header: LinkHeader = {},
) {
  return bffFor(h, key).POST('/apps/{appId}/numbers', {
    params: { path: { appId }, header },
    body,
  });
}

/**
 * POST /apps/{appId}/numbers with a body the spec does not allow (an unknown field, not an object,
 * not JSON), which the client will not type: raw fetch. A string is sent as it is.
 */
export function postRawLink(
  h: Pick<Harness, 'url'>,
  key: string,
  appId: string,
  body: unknown,
): Promise<Response> {
  return fetch(`${h.url}/apps/${appId}/numbers`, {
    method: 'POST',
    headers: { ...bearer(key), 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/**
 * DELETE /apps/{appId}/numbers/{voipNumber} through the generated client, which sends the number's
 * + as %2B; documented headers in `header`.
 */
export function deleteLink(
  h: Pick<Harness, 'url'>,
  key: string,
  appId: string,
  voipNumber: string,
  header: UnlinkHeader = {},
) {
  return bffFor(h, key).DELETE('/apps/{appId}/numbers/{voipNumber}', {
    params: { path: { appId, voipNumber }, header },
  });
}

/**
 * DELETE /apps/{appId}/numbers/{number}, the number in the path exactly as given: raw fetch, for
 * what the client never sends (a literal +; it always encodes it).
 */
export function deleteRawLink(
  h: Pick<Harness, 'url'>,
  key: string,
  appId: string,
  numberInPath: string,
): Promise<Response> {
  return fetch(`${h.url}/apps/${appId}/numbers/${numberInPath}`, {
    method: 'DELETE',
    headers: bearer(key),
  });
}

/** The voip numbers GET /numbers/available answers on `h` now. */
export async function availableOn(h: Pick<Harness, 'url'>, key: string): Promise<string[]> {
  const { data, response } = await bffFor(h, key).GET('/numbers/available');
  if (response.status !== 200 || !data)
    throw new Error(`GET /numbers/available answered ${response.status}`);
  return data.data.map((n) => n.voipNumber);
}

/** The voip numbers GET /apps/{appId}/numbers answers on `h` now. */
export async function linkedOn(
  h: Pick<Harness, 'url'>,
  key: string,
  appId: string,
): Promise<string[]> {
  const { data, response } = await bffFor(h, key).GET('/apps/{appId}/numbers', {
    params: { path: { appId } },
  });
  if (response.status !== 200 || !data)
    throw new Error(`GET /apps/${appId}/numbers answered ${response.status}`);
  return data.data.map((n) => n.voipNumber);
}
