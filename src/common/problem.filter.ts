import { ArgumentsHost, Catch, ExceptionFilter, NotFoundException } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { AppLogger } from '../logging/app-logger';
import { allowedMethods } from './allowed-methods';
import { AppError } from './app.error';
import { sendProblem } from './send-problem';

/** The one global filter: every error thrown in Nest's pipeline leaves as application/problem+json. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger: Logger;

  constructor(
    logger: AppLogger,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.logger = logger.child(ProblemFilter.name);
  }

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    sendProblem(
      this.methodNotAllowed(error, request) ?? error,
      request,
      http.getResponse<FastifyReply>(),
      this.logger,
    );
  }

  /** A 404 for a path that exists under other methods is really a 405 with Allow. */
  private methodNotAllowed(error: unknown, request: FastifyRequest): AppError | undefined {
    if (!(error instanceof NotFoundException) || request.routeOptions.url !== undefined)
      return undefined;
    const allow = allowedMethods(
      this.adapterHost.httpAdapter.getInstance(),
      request.url.split('?', 1)[0],
    );
    // Empty: the path is unknown. Listing this method: a route took the request and found nothing
    // (e.g. a file under /docs/ that is not there), a true 404.
    if (allow.length === 0 || allow.includes(request.method)) return undefined;
    return new AppError(
      'METHOD_NOT_ALLOWED',
      `${request.method} is not allowed here; use ${allow.join(', ')}.`,
      {
        allow: allow.join(', '),
      },
    );
  }
}
