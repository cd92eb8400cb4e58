import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeController } from '../openapi/swagger-decorators';
import type { FastifyReply } from 'fastify';
import { Metrics } from './metrics';

/** GET /metrics on the main port (when METRICS_PORT is unset). No auth, no rate limit. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  @Header('cache-control', 'no-store')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    void reply
      .header('content-type', this.metrics.registry.contentType)
      .send(await this.metrics.registry.metrics());
  }
}
