import { z } from 'zod';
import { readJson } from './bodies';
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
const meta = z.strictObject({ count: z.number(), fetchedAt: z.string() });

export const linkAnswer = z.strictObject({ data: link });
export const appNumbersBody = z.strictObject({ data: z.array(link), meta });
export const appsBody = z.strictObject({
  data: z.array(
    z.strictObject({
      appId: z.string(),
      name: z.string(),
      status: z.string(),
      createdAt: z.string(),
    }),
  ),
  meta,
});

export const readLink = (res: Response) => readJson(res, linkAnswer);
export const readAppNumbers = (res: Response) => readJson(res, appNumbersBody);
export const readApps = (res: Response) => readJson(res, appsBody);

/** POST /apps/{appId}/numbers with `body` (an object is sent as JSON). */
export function postLink(
  h: Pick<Harness, 'url'>,
  key: string,
  appId: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${h.url}/apps/${appId}/numbers`, {
    method: 'POST',
    headers: { ...bearer(key), 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** DELETE /apps/{appId}/numbers/{number}, the number as given (encode it yourself). */
export function deleteLink(
  h: Pick<Harness, 'url'>,
  key: string,
  appId: string,
  numberInPath: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${h.url}/apps/${appId}/numbers/${numberInPath}`, {
    method: 'DELETE',
    headers: { ...bearer(key), ...headers },
  });
}

/** The voip numbers GET /numbers/available answers on `h` now. */
export async function availableOn(h: Pick<Harness, 'url'>, key: string): Promise<string[]> {
  const res = await fetch(`${h.url}/numbers/available`, { headers: bearer(key) });
  if (res.status !== 200) throw new Error(`GET /numbers/available answered ${res.status}`);
  const body = await readJson(
    res,
    z.looseObject({ data: z.array(z.looseObject({ voipNumber: z.string() })) }),
  );
  return body.data.map((n) => n.voipNumber);
}

/** The voip numbers GET /apps/{appId}/numbers answers on `h` now. */
export async function linkedOn(
  h: Pick<Harness, 'url'>,
  key: string,
  appId: string,
): Promise<string[]> {
  const res = await fetch(`${h.url}/apps/${appId}/numbers`, { headers: bearer(key) });
  if (res.status !== 200) throw new Error(`GET /apps/${appId}/numbers answered ${res.status}`);
  return (await readAppNumbers(res)).data.map((n) => n.voipNumber);
}
