import { expect } from '@jest/globals';
import {
  createSuperfoneBffClient,
  type SuperfoneBffClient,
  voipNumberPath,
} from '../clients/typescript/src';
import { KEYS } from './support/client-keys.fixture';
import { APP_1, APP_2, NUMBER } from './support/number-links';
import { Harness, SERVER_KEY, startHarness } from './support/test-app';

/**
 * A company app's whole flow through the generated client (clients/typescript), as its README
 * shows it: every call typed by openapi.json, problems included. The contract check
 * (test/support/contract.setup.ts) validates each answer on the way.
 */
describe('the generated TypeScript client against the service', () => {
  let h: Harness;
  let bff: SuperfoneBffClient;

  beforeEach(async () => {
    h = await startHarness();
    bff = createSuperfoneBffClient({ baseUrl: h.url, clientKey: KEYS.linker });
  });
  afterEach(async () => {
    await h.close();
  });

  const available = async (): Promise<string[]> => {
    const { data, error } = await bff.GET('/numbers/available');
    if (error) throw new Error(`${error.code}: ${error.detail}`);
    return data.data.map((n) => n.voipNumber);
  };

  it('lists, links (once, however often it is sent), sees the number move, and unlinks', async () => {
    expect(await available()).toContain(NUMBER);
    const apps = await bff.GET('/apps');
    expect(apps.data?.data.map((a) => a.appId).sort()).toEqual([APP_1, APP_2]);

    const link = () =>
      bff.POST('/apps/{appId}/numbers', {
        params: { path: { appId: APP_1 }, header: { 'Idempotency-Key': '"client-link-1"' } },
        body: { voipNumber: NUMBER },
      });
    const linked = await link();
    expect(linked.response.status).toBe(201);
    expect(linked.data?.data).toMatchObject({ appId: APP_1, voipNumber: NUMBER });
    expect(linked.response.headers.get('location')).toBe(
      `/apps/${APP_1}/numbers/${voipNumberPath(NUMBER)}`,
    );
    const replayed = await link();
    expect(replayed.response.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.data).toEqual(linked.data);
    expect(h.standIn.callsTo('link')).toBe(1);

    expect(await available()).not.toContain(NUMBER);
    const appNumbers = await bff.GET('/apps/{appId}/numbers', {
      params: { path: { appId: APP_1 } },
    });
    expect(appNumbers.data?.data.map((l) => l.voipNumber)).toEqual([NUMBER]);

    const unlinked = await bff.DELETE('/apps/{appId}/numbers/{voipNumber}', {
      params: { path: { appId: APP_1, voipNumber: NUMBER } },
    });
    expect(unlinked.response.status).toBe(204);
    expect(await available()).toContain(NUMBER);
  });

  it('hands back typed problems', async () => {
    const unknownApp = await bff.POST('/apps/{appId}/numbers', {
      params: { path: { appId: 'sfv_app_nobody' } },
      body: { voipNumber: NUMBER },
    });
    expect(unknownApp.response.status).toBe(404);
    expect(unknownApp.error?.code).toBe('APP_NOT_FOUND');

    const reader = createSuperfoneBffClient({ baseUrl: h.url, clientKey: KEYS.reader });
    const forbidden = await reader.GET('/apps');
    expect(forbidden.error).toMatchObject({ status: 403, code: 'FORBIDDEN' });

    const anonymous = createSuperfoneBffClient({ baseUrl: h.url });
    const refused = await anonymous.GET('/numbers/available');
    expect(refused.error?.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(refused.error)).not.toContain(SERVER_KEY);
  });

  it('revalidates with the ETag: a 304 with no body', async () => {
    const first = await bff.GET('/numbers/available', {
      params: { query: { provider: 'exotel' } },
    });
    const etag = first.response.headers.get('etag') ?? 'none';
    const again = await bff.GET('/numbers/available', {
      params: { query: { provider: 'exotel' }, header: { 'If-None-Match': etag } },
    });
    expect(again.response.status).toBe(304);
    expect(again.data).toBeUndefined();
  });
});
