import { Injectable } from '@nestjs/common';
import type { AppNumberLink } from '../common/app-number-link';
import type { AvailableNumber } from '../common/available-number';
import type { SfvopiApp } from '../common/sfvopi-app';
import { TraceContext } from '../tracing/trace-context';
import { SuperfoneHttp } from './superfone.http';
import { appReadRefusal, changeRefusal } from './superfone.refusals';
import {
  parseApps,
  parseAppNumbers,
  parseAvailableNumbers,
  parseLink,
  parseUnlink,
} from './superfone.schema';

export const AVAILABLE_NUMBERS_PATH = '/sfvopi/available-numbers';
export const APPS_PATH = '/sfvopi/apps';

/** `/sfvopi/apps/:app_id/numbers[/:voip_number]`, each segment encoded (a `+` always as `%2B`). */
function appNumbersPath(appId: string, voipNumber?: string): string {
  const base = `${APPS_PATH}/${encodeURIComponent(appId)}/numbers`;
  return voipNumber === undefined ? base : `${base}/${encodeURIComponent(voipNumber)}`;
}

/**
 * Superfone's numbers and apps endpoints (superfone-api.md §2–3), validated and normalized to the
 * service's shapes. Every method throws a named error: an UpstreamRefusal subclass for
 * Superfone's documented answers (AppNotFoundError, NumberNotLinkedError, NumberNotFoundError,
 * NumberAlreadyLinkedError, NumberRejectedError), else an UpstreamError, which for a link or
 * unlink may be UpstreamOutcomeUnknownError. `trace` is passed on as `traceparent`.
 */
@Injectable()
export class SuperfoneClient {
  constructor(private readonly http: SuperfoneHttp) {}

  /** GET /sfvopi/available-numbers: the organization's numbers no app uses. */
  fetchAvailableNumbers(trace?: TraceContext): Promise<AvailableNumber[]> {
    return this.http.send(
      {
        operation: 'available-numbers',
        method: 'GET',
        path: AVAILABLE_NUMBERS_PATH,
        parse: parseAvailableNumbers,
      },
      trace,
    );
  }

  /** GET /sfvopi/apps: the organization's apps, newest first. */
  listApps(trace?: TraceContext): Promise<SfvopiApp[]> {
    return this.http.send(
      { operation: 'list-apps', method: 'GET', path: APPS_PATH, parse: parseApps },
      trace,
    );
  }

  /** GET /sfvopi/apps/:app_id/numbers; AppNotFoundError for an unknown app. */
  listAppNumbers(appId: string, trace?: TraceContext): Promise<AppNumberLink[]> {
    return this.http.send(
      {
        operation: 'list-app-numbers',
        method: 'GET',
        path: appNumbersPath(appId),
        parse: parseAppNumbers,
        refusal: appReadRefusal,
      },
      trace,
    );
  }

  /**
   * POST /sfvopi/apps/:app_id/numbers `{"voip_number": …}` (E.164). Retried only when it surely
   * did not reach Superfone; UpstreamOutcomeUnknownError when it may have been applied.
   */
  linkNumber(appId: string, voipNumber: string, trace?: TraceContext): Promise<AppNumberLink> {
    return this.http.send(
      {
        operation: 'link',
        method: 'POST',
        path: appNumbersPath(appId),
        body: { voip_number: voipNumber },
        parse: parseLink,
        refusal: changeRefusal,
      },
      trace,
    );
  }

  /** DELETE /sfvopi/apps/:app_id/numbers/%2B…; same retry rule and errors as linkNumber. */
  async unlinkNumber(appId: string, voipNumber: string, trace?: TraceContext): Promise<void> {
    await this.http.send(
      {
        operation: 'unlink',
        method: 'DELETE',
        path: appNumbersPath(appId, voipNumber),
        parse: parseUnlink,
        refusal: changeRefusal,
      },
      trace,
    );
  }
}
