import { Controller, Delete, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequireScope } from '../auth/scopes.decorator';
import { AppsCacheService } from '../cache/apps-cache.service';
import { listBody, sendCachedView } from '../cache/send-cached';
import type { AppNumberLink } from '../common/app-number-link';
import { InvalidRequestError } from '../common/app.error';
import { requestState } from '../common/request-state';
import type { SfvopiApp } from '../common/sfvopi-app';
import { Idempotent } from '../idempotency/idempotency.interceptor';
import {
  ApiAppNumbersAnswer,
  ApiAppsAnswer,
  ApiLinkAnswer,
  ApiUnlinkAnswer,
} from '../openapi/api-docs.decorators';
import { ApiOperation, ApiTags } from '../openapi/swagger-decorators';
import {
  LinkTarget,
  linkLocation,
  parseAppId,
  parseLinkBody,
  parseVoipNumberParam,
} from './apps.input';
import { MutationAudit, MutationOperation } from './mutation-audit';
import { MutationResult, NumberLinks } from './number-links.service';

/** The one view of an app list or an app's numbers (they take no filters). */
const WHOLE_LIST = '';

/**
 * The step after picking a number: the organization's SFVoPI apps, the numbers linked to each,
 * and linking and unlinking, all without the Superfone key. Reads are cached like
 * /numbers/available; writes go to Superfone and every cache follows (NumberLinks).
 */
@ApiTags('apps')
@Controller('apps')
export class AppsController {
  constructor(
    private readonly caches: AppsCacheService<SfvopiApp, AppNumberLink>,
    private readonly links: NumberLinks,
    private readonly audit: MutationAudit,
  ) {}

  @Get()
  @RequireScope('apps:read')
  @ApiOperation({ summary: "The organization's SFVoPI apps, newest first (scope apps:read)" })
  @ApiAppsAnswer()
  async apps(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    refuseQuery(request.query);
    const read = await this.caches.readApps(requestState(request).trace);
    sendCachedView(request, reply, read, WHOLE_LIST, (copy) => listBody(copy.items, copy));
  }

  @Get(':appId/numbers')
  @RequireScope('apps:read')
  @ApiOperation({ summary: 'The numbers linked to one SFVoPI app (scope apps:read)' })
  @ApiAppNumbersAnswer()
  async appNumbers(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const appId = parseAppId(request.params);
    refuseQuery(request.query);
    const read = await this.caches.readAppNumbers(appId, requestState(request).trace);
    sendCachedView(request, reply, read, WHOLE_LIST, (copy) => listBody(copy.items, copy));
  }

  /**
   * The handler returns its body and sets status and headers on the reply (passthrough), so the
   * Idempotency-Key interceptor can keep the answer for a retry.
   */
  @Post(':appId/numbers')
  @HttpCode(201)
  @RequireScope('numbers:link')
  @Idempotent()
  @ApiOperation({ summary: 'Link a number to an SFVoPI app (scope numbers:link)' })
  @ApiLinkAnswer()
  async link(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ data: AppNumberLink }> {
    const target = { appId: parseAppId(request.params), voipNumber: parseLinkBody(request.body) };
    const result = await this.audited(request, 'link', target, () =>
      this.links.link(target, requestState(request).trace),
    );
    void reply.header('cache-control', 'no-store');
    if (result.outcome === 'linked') void reply.header('location', linkLocation(target));
    else void reply.code(200);
    return { data: result.link };
  }

  @Delete(':appId/numbers/:voipNumber')
  @HttpCode(204)
  @RequireScope('numbers:link')
  @Idempotent()
  @ApiOperation({ summary: 'Unlink a number from an SFVoPI app (scope numbers:link)' })
  @ApiUnlinkAnswer()
  async unlink(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const target = {
      appId: parseAppId(request.params),
      voipNumber: parseVoipNumberParam(request.params),
    };
    await this.audited(request, 'unlink', target, () =>
      this.links.unlink(target, requestState(request).trace),
    );
    void reply.header('cache-control', 'no-store');
  }

  /** Runs one mutation and writes its audit line and count, whatever its end. */
  private async audited<R extends MutationResult>(
    request: FastifyRequest,
    operation: MutationOperation,
    target: LinkTarget,
    mutate: () => Promise<R>,
  ): Promise<R> {
    const { client, requestId } = requestState(request);
    const record = { operation, target, clientId: client?.id, requestId };
    try {
      const result = await mutate();
      this.audit.record({ ...record, outcome: result.outcome, reconciled: result.reconciled });
      return result;
    } catch (error) {
      this.audit.record({ ...record, outcome: MutationAudit.outcomeOf(error) });
      throw error;
    }
  }
}

/** The apps routes take no query parameters: any is a 400, never silently ignored. */
function refuseQuery(query: unknown): void {
  if (Object.keys(query ?? {}).length > 0)
    throw new InvalidRequestError('This route takes no query parameters.');
}
