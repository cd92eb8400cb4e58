import { Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '../openapi/swagger-decorators';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequireScope } from '../auth/scopes.decorator';
import { NumbersCacheService } from '../cache/numbers-cache.service';
import { requestState } from '../common/request-state';
import { ApiNumbersAnswer } from '../openapi/api-docs.decorators';
import { parseNumbersFilter } from './numbers.query';
import { sendNumbers } from './numbers.response';

/**
 * The organization's Superfone numbers not yet linked to an SFVoPI app. Responses are written
 * directly (pre-serialized bytes per cached copy), so nothing is serialized per request.
 */
@ApiTags('numbers')
@Controller('numbers/available')
export class NumbersController {
  constructor(private readonly cache: NumbersCacheService) {}

  @Get()
  @RequireScope('numbers:read')
  @ApiOperation({ summary: 'Numbers not yet linked to any SFVoPI app (scope numbers:read)' })
  @ApiNumbersAnswer({ conditional: true })
  async list(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const filter = parseNumbersFilter(request.query);
    const { trace } = requestState(request);
    sendNumbers(request, reply, await this.cache.read(trace), filter);
  }

  /** For apps that just linked or unlinked a number: fetch upstream now and replace the cached copy. */
  @Post('refresh')
  @HttpCode(200)
  @RequireScope('numbers:refresh')
  @ApiOperation({
    summary: 'Fetch from Superfone now and replace the cached copy (scope numbers:refresh)',
  })
  @ApiNumbersAnswer({ conditional: false })
  async refresh(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const filter = parseNumbersFilter(request.query);
    const { trace } = requestState(request);
    sendNumbers(request, reply, await this.cache.forceRefresh(trace), filter);
  }
}
