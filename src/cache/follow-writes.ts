import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppLogger } from '../logging/app-logger';
import type { TraceContext } from '../tracing/trace-context';
import { AppsCacheService } from './apps-cache.service';
import { ChangedResources, InvalidationBus } from './invalidation-bus';
import { NumbersCacheService } from './numbers-cache.service';
import type { ResourceCache } from './resource-cache';

const AVAILABLE_NUMBERS = 'available-numbers';
const APP_NUMBERS = 'app-numbers:';

/**
 * Makes every cache follow a link or unlink, on every replica:
 * - here, before the answer leaves: the available list and the app's list are fetched anew
 *   (the one available-numbers call the write costs) and written to the shared tier;
 * - then the other replicas are told (InvalidationBus: pub/sub, with a generation in Redis for
 *   those that missed the message) and drop their in-process copies, so their next read takes
 *   the shared copies just written: no upstream call.
 * Superfone's link answer does not carry the id and provider the available list needs after an
 * unlink, so the lists are read again rather than patched.
 */
@Injectable()
export class FollowWrites implements OnModuleInit {
  private readonly logger: Logger;

  constructor(
    private readonly numbers: NumbersCacheService,
    private readonly apps: AppsCacheService,
    private readonly bus: InvalidationBus,
    logger: AppLogger,
  ) {
    this.logger = logger.child(FollowWrites.name);
  }

  onModuleInit(): void {
    this.bus.onChange((resources) => {
      this.drop(resources);
    });
  }

  /** After Superfone linked or unlinked a number of `appId`. Never throws: the write happened. */
  async afterWrite(appId: string, trace?: TraceContext): Promise<void> {
    await Promise.all([
      this.refresh(this.numbers, trace),
      this.refresh(this.apps.appNumbers(appId), trace),
    ]);
    await this.bus.announce([AVAILABLE_NUMBERS, `${APP_NUMBERS}${appId}`]);
  }

  /**
   * A failed refresh leaves no copy that predates the write anywhere (invalidate): the next read
   * asks Superfone again rather than offer a number that is linked already.
   */
  private async refresh<T>(cache: ResourceCache<T>, trace?: TraceContext): Promise<void> {
    try {
      await cache.refreshNow(trace);
    } catch {
      this.logger.warn(
        { resource: cache.name },
        'refresh after a number write failed: the cached copy is dropped everywhere instead',
      );
      await cache.invalidate().catch(() => undefined);
    }
  }

  /** Another replica wrote (or this one may have missed messages: 'all'). */
  private drop(resources: ChangedResources): void {
    if (resources === 'all') {
      this.numbers.dropLocal();
      this.apps.dropAllLocal();
      return;
    }
    for (const resource of resources) {
      if (resource === AVAILABLE_NUMBERS) this.numbers.dropLocal();
      else if (resource.startsWith(APP_NUMBERS))
        this.apps.dropLocalAppNumbers(resource.slice(APP_NUMBERS.length));
    }
  }
}
