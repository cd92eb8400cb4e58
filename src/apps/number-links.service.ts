import { Injectable } from '@nestjs/common';
import type { AppNumberLink } from '../common/app-number-link';
import { SuperfoneClient } from '../superfone/superfone.client';
import {
  NumberAlreadyLinkedError,
  UpstreamBadResponseError,
  UpstreamOutcomeUnknownError,
} from '../superfone/upstream.errors';
import type { TraceContext } from '../tracing/trace-context';
import { FollowWrites } from '../cache/follow-writes';
import type { LinkTarget } from './apps.input';

/** How a mutation ended, for the answer and the audit line. */
export interface MutationResult {
  readonly outcome: string;
  /** True when Superfone's answer was lost and the app's list of numbers decided the outcome. */
  readonly reconciled: boolean;
}

export interface LinkResult extends MutationResult {
  /** linked: 201; already_linked (to this same app): 200. */
  readonly outcome: 'linked' | 'already_linked';
  readonly link: AppNumberLink;
}

export interface UnlinkResult extends MutationResult {
  readonly outcome: 'unlinked';
}

/**
 * Links and unlinks numbers at Superfone without ever doing it twice, then makes every cache
 * follow. Superfone's mutations are not idempotent and its client retries them only when they
 * surely never left (connection refused): after a timeout, a reset or a gateway error the outcome
 * is unknown, so the app's list of numbers, read fresh, decides the answer.
 */
@Injectable()
export class NumberLinks {
  constructor(
    private readonly upstream: SuperfoneClient,
    private readonly follow: FollowWrites,
  ) {}

  async link(target: LinkTarget, trace?: TraceContext): Promise<LinkResult> {
    const { appId, voipNumber } = target;
    let result: LinkResult;
    try {
      result = {
        outcome: 'linked',
        link: await this.upstream.linkNumber(appId, voipNumber, trace),
        reconciled: false,
      };
    } catch (error) {
      if (error instanceof NumberAlreadyLinkedError) {
        // Superfone answers 409 for "linked to another app", and may for "already linked here":
        // the SPEC makes the second a 200 with the link, so look before refusing.
        const existing = await this.findLink(target, trace).catch(() => undefined);
        if (existing) return { outcome: 'already_linked', link: existing, reconciled: false };
        throw error;
      }
      if (!outcomeUnknown(error)) throw error;
      const landed = await this.outcomeOf(target, error, trace);
      // Not there yet: the request may still be applied; a retry is safe (a second link of a
      // number already linked here answers 200), so the caller hears "timed out", not "failed".
      if (!landed) throw error;
      result = { outcome: 'linked', link: landed, reconciled: true };
    }
    await this.follow.afterWrite(appId, trace);
    return result;
  }

  async unlink(target: LinkTarget, trace?: TraceContext): Promise<UnlinkResult> {
    let reconciled = false;
    try {
      await this.upstream.unlinkNumber(target.appId, target.voipNumber, trace);
    } catch (error) {
      if (!outcomeUnknown(error)) throw error;
      if (await this.outcomeOf(target, error, trace)) throw error;
      reconciled = true;
    }
    await this.follow.afterWrite(target.appId, trace);
    return { outcome: 'unlinked', reconciled };
  }

  /** The link as Superfone has it now; when even that read fails, the outcome stays unknown. */
  private async outcomeOf(
    target: LinkTarget,
    unknown: UpstreamOutcomeUnknownError | UpstreamBadResponseError,
    trace?: TraceContext,
  ): Promise<AppNumberLink | undefined> {
    try {
      return await this.findLink(target, trace);
    } catch {
      throw unknown;
    }
  }

  private async findLink(
    { appId, voipNumber }: LinkTarget,
    trace?: TraceContext,
  ): Promise<AppNumberLink | undefined> {
    const links = await this.upstream.listAppNumbers(appId, trace);
    return links.find((link) => link.voipNumber === voipNumber);
  }
}

/**
 * Superfone may have made the change: its answer was lost (timeout, reset, a gateway's 502-504),
 * or it said 200 with a body that cannot be read (the change was most likely made).
 */
function outcomeUnknown(
  error: unknown,
): error is UpstreamOutcomeUnknownError | UpstreamBadResponseError {
  return error instanceof UpstreamOutcomeUnknownError || error instanceof UpstreamBadResponseError;
}
