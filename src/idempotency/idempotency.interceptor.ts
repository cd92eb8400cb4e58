import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, Observable } from 'rxjs';
import { requestState } from '../common/request-state';
import { idempotencyKeyOf } from './idempotency-key.header';
import { REPLAYED_HEADERS } from './idempotency.record';
import {
  IdempotencyService,
  IdempotentRequest,
  IdempotentResponse,
  REPLAYED_HEADER,
} from './idempotency.service';

/**
 * Idempotency-Key on one route: without the header the handler simply runs; with it, see
 * IdempotencyService. It runs after the guards (the client is known, its rate limit counted) and
 * around the pipes and the handler. The handler sets its status and headers on the reply as usual
 * (`@HttpCode`, `@Res({ passthrough: true })`); they are read back once it returns.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(private readonly idempotency: IdempotencyService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const idempotent = idempotentRequestOf(request);
    if (!idempotent) return next.handle();
    // A promise, not an operator chain: Nest drops its subscription when the client goes away,
    // and the answer must still be kept for that client's retry.
    return from(this.handle(idempotent, http.getResponse<FastifyReply>(), next));
  }

  private async handle(
    request: IdempotentRequest,
    reply: FastifyReply,
    next: CallHandler,
  ): Promise<unknown> {
    const { response, replayed } = await this.idempotency.run(request, async () => {
      const body: unknown = await lastValueFrom(next.handle(), { defaultValue: undefined });
      // A handler that sent the reply itself (@Res() without passthrough) left nothing to keep.
      if (reply.sent)
        throw new Error('an @Idempotent() handler must return its body, not send the reply');
      return responseOf(reply, body);
    });
    return replayed ? replayOn(reply, response) : response.body;
  }
}

/**
 * The request as IdempotencyService takes it, or undefined when it carries no Idempotency-Key.
 * Throws InvalidRequestError for a malformed or repeated key. For a route that uses
 * IdempotencyService.run() itself instead of @Idempotent().
 */
export function idempotentRequestOf(request: FastifyRequest): IdempotentRequest | undefined {
  const key = idempotencyKeyOf(request.raw);
  if (key === undefined) return undefined;
  const client = requestState(request).client;
  if (!client) throw new Error('Idempotency-Key needs a route that requires a client key');
  return { clientId: client.id, key, method: request.method, url: request.url, body: request.body };
}

/** Marks a POST or DELETE route as honouring Idempotency-Key (its module imports IdempotencyModule). */
export const Idempotent = (): MethodDecorator & ClassDecorator =>
  UseInterceptors(IdempotencyInterceptor);

/** What the handler answered: the reply's status and replayable headers, and its body. */
export function responseOf(reply: FastifyReply, body: unknown): IdempotentResponse {
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = reply.getHeader(name);
    if (value !== undefined) headers[name] = String(value);
  }
  return { kind: 'response', status: reply.statusCode, headers, body };
}

/**
 * Puts a kept response on `reply` (status, its headers, `Idempotent-Replayed: true`) and returns
 * the body to send: return it from the handler, or pass it to `reply.send()`.
 */
export function replayOn(reply: FastifyReply, response: IdempotentResponse): unknown {
  void reply.code(response.status).headers(response.headers).header(REPLAYED_HEADER, 'true');
  return response.body;
}
