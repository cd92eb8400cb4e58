import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type { TraceContext } from '../tracing/trace-context';
import type { ResourceCache } from './resource-cache';
import { ResourceCaches } from './resource-caches';
import type { ResourceRead } from './resource-read';

/**
 * What the apps caches need from Superfone, provided under APPS_UPSTREAM (the SuperfoneClient's
 * listApps and listAppNumbers, and the src/common zod schemas of their items, used to check
 * copies read back from Redis).
 */
export interface AppsUpstream<App, Link> {
  listApps(trace?: TraceContext): Promise<readonly App[]>;
  listAppNumbers(appId: string, trace?: TraceContext): Promise<readonly Link[]>;
  readonly appSchema: z.ZodType<App>;
  readonly appNumberSchema: z.ZodType<Link>;
}

export const APPS_UPSTREAM = Symbol('APPS_UPSTREAM');

/**
 * Most apps whose number lists are kept in this process. An organization has a handful of
 * SFVoPI apps; the cap only stops a client walking through app ids from growing memory without
 * bound. The least recently used list goes first; its copy stays in Redis for the others.
 */
export const MAX_APP_NUMBER_CACHES = 500;

/**
 * GET /apps and GET /apps/{appId}/numbers, cached like /numbers/available: one ResourceCache for
 * the apps list and one per app id (keys `apps` and `app-numbers:<appId>`), made on first use.
 */
@Injectable()
export class AppsCacheService<App = unknown, Link = unknown> {
  readonly apps: ResourceCache<App>;
  /** Per app id, least recently used first (a Map keeps insertion order). */
  private readonly byApp = new Map<string, ResourceCache<Link>>();

  constructor(
    private readonly caches: ResourceCaches,
    @Inject(APPS_UPSTREAM) private readonly upstream: AppsUpstream<App, Link>,
  ) {
    this.apps = caches.create({
      name: 'apps',
      fetch: (trace) => upstream.listApps(trace),
      itemSchema: upstream.appSchema,
    });
  }

  readApps(trace?: TraceContext): Promise<ResourceRead<App>> {
    return this.apps.read(trace);
  }

  /**
   * The app's numbers. A failed read with nothing to serve (an unknown app: Superfone's 404; or
   * Superfone failing) forgets the app's cache: errors are never cached, so unknown ids leave no
   * lasting entry behind.
   */
  async readAppNumbers(appId: string, trace?: TraceContext): Promise<ResourceRead<Link>> {
    const cache = this.appNumbers(appId);
    try {
      return await cache.read(trace);
    } catch (error) {
      if (cache.localAgeSeconds === undefined && this.byApp.get(appId) === cache)
        this.byApp.delete(appId);
      throw error;
    }
  }

  /** The app's number-list cache, made on first use (for refreshNow, dropLocal, invalidate). */
  appNumbers(appId: string): ResourceCache<Link> {
    let cache = this.byApp.get(appId);
    if (cache) {
      this.byApp.delete(appId);
    } else {
      cache = this.caches.create({
        name: 'app-numbers',
        key: `app-numbers:${encodeURIComponent(appId)}`,
        fetch: (trace) => this.upstream.listAppNumbers(appId, trace),
        itemSchema: this.upstream.appNumberSchema,
      });
      if (this.byApp.size >= MAX_APP_NUMBER_CACHES)
        this.byApp.delete(this.byApp.keys().next().value as string);
    }
    this.byApp.set(appId, cache);
    return cache;
  }

  /**
   * Forgets this process's copy of one app's numbers, if it holds one (another replica wrote;
   * no cache is made for an app this process never read).
   */
  dropLocalAppNumbers(appId: string): void {
    this.byApp.get(appId)?.dropLocal();
  }

  /** How many app number lists this process keeps caches for. */
  get appNumberCaches(): number {
    return this.byApp.size;
  }

  /** Visits the apps list's cache and every app number list's, e.g. to drop them all. */
  forEachCache(visit: (cache: ResourceCache<App> | ResourceCache<Link>) => void): void {
    visit(this.apps);
    for (const cache of this.byApp.values()) visit(cache);
  }

  /**
   * Forgets every copy held here (a replica that may have missed invalidation messages): the
   * next reads take the shared copies.
   */
  dropAllLocal(): void {
    this.forEachCache((cache) => {
      cache.dropLocal();
    });
  }
}
