import {
  cacheConfig,
  type Item,
  item,
  Replica,
  redisProbe,
} from '../../test/support/resource-caches';
import { deleteKeys, testRedisUrl } from '../../test/support/test-app';
import { eventually } from '../../test/support/timing';
import { UpstreamErrorResponse } from '../superfone/upstream.errors';
import { AppsCacheService, type AppsUpstream, MAX_APP_NUMBER_CACHES } from './apps-cache.service';

/** Superfone's apps and their numbers; `ghost` is an app it does not know. */
class FakeApps implements AppsUpstream<Item, Item> {
  readonly appSchema = item;
  readonly appNumberSchema = item;
  appsCalls = 0;
  readonly numberCalls = new Map<string, number>();

  listApps = (): Promise<Item[]> => {
    this.appsCalls++;
    return Promise.resolve([{ id: 'app-1' }, { id: 'app-2' }]);
  };

  listAppNumbers = (appId: string): Promise<Item[]> => {
    this.numberCalls.set(appId, (this.numberCalls.get(appId) ?? 0) + 1);
    if (appId === 'ghost') return Promise.reject(new UpstreamErrorResponse(404));
    return Promise.resolve([{ id: `${appId}/+918000000001` }]);
  };
}

/** The apps caches over the suite's real Redis, each replica with its own connection. */
describe(AppsCacheService.name, () => {
  const config = cacheConfig();
  let probe: ReturnType<typeof redisProbe>;
  let replicas: Replica[];
  let upstream: FakeApps;

  beforeAll(() => {
    probe = redisProbe();
  });
  beforeEach(async () => {
    replicas = [await Replica.start(config), await Replica.start(config)];
    upstream = new FakeApps();
  });
  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await deleteKeys(testRedisUrl(), config.redis.keyPrefix);
  });
  afterAll(() => {
    probe.disconnect();
  });

  const service = (replica: Replica) => new AppsCacheService(replica.caches, upstream);
  const copyKey = (name: string) => replicas[0].keys.forResource(name).copy;

  it("keeps the apps list and each app's numbers under keys of their own, which the other replicas answer from", async () => {
    const [a, b] = replicas.map(service);

    expect(await a.readApps()).toMatchObject({ outcome: 'miss' });
    expect(await a.readAppNumbers('app-1')).toMatchObject({
      outcome: 'miss',
      entry: { items: [{ id: 'app-1/+918000000001' }] },
    });
    await eventually(
      async () =>
        (await probe.exists(copyKey('apps'), copyKey('app-numbers:app-1'))) === 2
          ? true
          : undefined,
      'both copies in Redis',
    );

    expect(await b.readApps()).toMatchObject({
      outcome: 'hit',
      entry: { items: [{ id: 'app-1' }, { id: 'app-2' }] },
    });
    expect(await b.readAppNumbers('app-1')).toMatchObject({ outcome: 'hit' });
    expect(await b.readAppNumbers('app-2')).toMatchObject({ outcome: 'miss' });
    expect(upstream.appsCalls).toBe(1);
    expect(Object.fromEntries(upstream.numberCalls)).toEqual({ 'app-1': 1, 'app-2': 1 });
  });

  it('an unknown app answers the upstream error each time and leaves no cache behind', async () => {
    const apps = service(replicas[0]);

    await expect(apps.readAppNumbers('ghost')).rejects.toBeInstanceOf(UpstreamErrorResponse);
    await expect(apps.readAppNumbers('ghost')).rejects.toBeInstanceOf(UpstreamErrorResponse);

    expect(apps.appNumberCaches).toBe(0);
    expect(upstream.numberCalls.get('ghost')).toBe(2);
    expect(await probe.exists(copyKey('app-numbers:ghost'))).toBe(0);
  });

  it(`keeps at most ${MAX_APP_NUMBER_CACHES} app number lists, forgetting the least recently used first`, () => {
    const apps = service(replicas[0]);
    const made = Array.from({ length: MAX_APP_NUMBER_CACHES }, (_, i) =>
      apps.appNumbers(`app-${i}`),
    );
    // app-0 is used again, so app-1 is now the least recently used.
    expect(apps.appNumbers('app-0')).toBe(made[0]);

    apps.appNumbers(`app-${MAX_APP_NUMBER_CACHES}`);

    expect(apps.appNumberCaches).toBe(MAX_APP_NUMBER_CACHES);
    expect(apps.appNumbers('app-0')).toBe(made[0]);
    expect(apps.appNumbers('app-2')).toBe(made[2]);
    expect(apps.appNumbers('app-1')).not.toBe(made[1]);
    expect(apps.appNumberCaches).toBe(MAX_APP_NUMBER_CACHES);
  });

  it('dropAllLocal: every list is read again from Redis, with no upstream call', async () => {
    const apps = service(replicas[0]);
    await apps.readApps();
    await apps.readAppNumbers('app-1');
    await eventually(
      async () =>
        (await probe.exists(copyKey('apps'), copyKey('app-numbers:app-1'))) === 2
          ? true
          : undefined,
      'both copies in Redis',
    );

    apps.dropAllLocal();

    expect(apps.apps.localAgeSeconds).toBeUndefined();
    expect(apps.appNumbers('app-1').localAgeSeconds).toBeUndefined();
    expect(await apps.readApps()).toMatchObject({ outcome: 'hit' });
    expect(await apps.readAppNumbers('app-1')).toMatchObject({ outcome: 'hit' });
    expect(upstream.appsCalls).toBe(1);
    expect(upstream.numberCalls.get('app-1')).toBe(1);
  });
});
