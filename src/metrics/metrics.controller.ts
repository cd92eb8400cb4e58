import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeController } from '../openapi/swagger-decorators';
import type { FastifyReply } from 'fastify';
import { MetricsText } from './metrics-text';

/** GET /metrics on the main port (when METRICS_PORT is unset). No auth, no rate limit. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly text: MetricsText) {}

  @Get()
  @Header('cache-control', 'no-store')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    void reply.header('content-type', this.text.contentType).send(await this.text.render());
  }
}
