import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../common/app.error';
import { requestState } from '../common/request-state';
import { AppConfig } from '../config/app-config';
import type { Scope } from '../config/client-keys';
import { AuthFailureDelay } from './auth-failure-delay';
import { ClientIndex, findClient, indexClients } from './client-keys';
import { REQUIRED_SCOPE } from './scopes.decorator';

const REALM = 'Bearer realm="superfone-bff"';
const MAX_KEY_LENGTH = 512;

/**
 * The refusals of a missing, malformed or unknown key: built once, not per request (an Error's
 * stack trace was the largest single cost of a 401). The filter reads only their code, detail and
 * headers, which never change.
 */
function unauthenticated(detail: string, challenge = REALM): AppError {
  return Object.freeze(
    new AppError('UNAUTHENTICATED', detail, Object.freeze({ 'www-authenticate': challenge })),
  );
}
const INVALID_KEY = unauthenticated(
  'The client key is not valid.',
  `${REALM}, error="invalid_token"`,
);
const OVERSIZED_KEY = unauthenticated('The client key is not valid.');
const NO_KEY = unauthenticated(
  'Send a client key as "Authorization: Bearer <key>" or "X-API-Key: <key>".',
);
const MALFORMED_AUTHORIZATION = unauthenticated(
  'The Authorization header must be "Bearer <client key>".',
);
const TWO_AUTHORIZATIONS = unauthenticated('Send one Authorization header.');
const TWO_API_KEYS = unauthenticated('Send one X-API-Key header.');
const DIFFERENT_KEYS = unauthenticated(
  'Authorization and X-API-Key carry different keys; send one.',
);

/**
 * Admits a request that presents a configured client key as `Authorization: Bearer <key>` or
 * `X-API-Key: <key>` and whose key carries the route's scope. Routes without @RequireScope
 * (health, metrics) are open. A missing or unknown key is a 401, answered after
 * AUTH_FAILURE_DELAY_MS (AuthFailureDelay); an admitted request is decided synchronously.
 */
@Injectable()
export class ClientKeyGuard implements CanActivate {
  private readonly clients: ClientIndex;

  constructor(
    private readonly reflector: Reflector,
    config: AppConfig,
    private readonly failureDelay: AuthFailureDelay,
  ) {
    this.clients = indexClients(config.clients);
  }

  /** Route scopes never change after boot; looked up once per handler, not per request. */
  private readonly scopes = new WeakMap<object, Scope | null>();

  canActivate(context: ExecutionContext): boolean | Promise<never> {
    const scope = this.scopeOf(context.getHandler());
    if (!scope) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const key = presentedKey(request);
    const client = typeof key === 'string' ? findClient(this.clients, key) : undefined;
    if (!client) {
      const refusal = typeof key === 'string' ? INVALID_KEY : key;
      return this.failureDelay.refuse(refusal, http.getResponse<FastifyReply>().raw);
    }
    // For the request's log line and its rate limit.
    requestState(request).client = client;
    if (!client.scopes.has(scope)) {
      throw new AppError('FORBIDDEN', `This client key lacks the scope ${scope}.`);
    }
    return true;
  }

  private scopeOf(handler: object): Scope | null {
    let scope = this.scopes.get(handler);
    if (scope === undefined) {
      scope = this.reflector.get<Scope | undefined>(REQUIRED_SCOPE, handler as () => void) ?? null;
      this.scopes.set(handler, scope);
    }
    return scope;
  }
}

/** The one key the caller presents, or the refusal of missing, malformed or conflicting credentials. */
function presentedKey(request: FastifyRequest): string | AppError {
  const repeated = repeatedCredentials(request.raw.rawHeaders);
  if (repeated) return repeated;
  const authorization = request.headers.authorization;
  const apiKey = request.headers['x-api-key'];
  let bearer: string | undefined;
  if (authorization !== undefined) {
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!match) return MALFORMED_AUTHORIZATION;
    bearer = match[1];
  }
  // Node joins repeated X-API-Key fields into one string; refused above, but the type allows a list.
  if (Array.isArray(apiKey)) return TWO_API_KEYS;
  if (bearer !== undefined && apiKey !== undefined && bearer !== apiKey) return DIFFERENT_KEYS;
  const key = bearer ?? apiKey;
  if (key === undefined || key === '') return NO_KEY;
  if (key.length > MAX_KEY_LENGTH) return OVERSIZED_KEY;
  return key;
}

/**
 * Two Authorization or two X-API-Key fields are a 401 whatever they hold. Node keeps only the
 * first Authorization and joins X-API-Key values with ", ", so the parsed headers cannot tell:
 * "valid, then invalid" would pass. The raw list can (names compared by length first: cheap).
 */
function repeatedCredentials(rawHeaders: readonly string[]): AppError | undefined {
  let authorization = 0;
  let apiKey = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === 13 && name.toLowerCase() === 'authorization') authorization++;
    else if (name.length === 9 && name.toLowerCase() === 'x-api-key') apiKey++;
  }
  if (authorization > 1) return TWO_AUTHORIZATIONS;
  if (apiKey > 1) return TWO_API_KEYS;
  return undefined;
}
