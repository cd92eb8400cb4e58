import { expect } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { AppError } from '../common/app.error';
import { AppConfig, AppConfigValues } from '../config/app-config';
import { parseClientKeys } from '../config/client-keys';
import type { RefusedRequests } from '../logging/refused-requests';
import { AuthFailureDelay } from './auth-failure-delay';
import { ClientKeyGuard } from './client-key.guard';
import { sha256 } from './client-keys';
import { RequireScope } from './scopes.decorator';

const DELAY_MS = 100;
const REFUSAL = new AppError('UNAUTHENTICATED', 'The client key is not valid.');

/** A ServerResponse as far as the delay looks at it: its 'close' event and `destroyed`. */
class FakeResponse extends EventEmitter {
  destroyed = false;
  hangUp(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

function config(values: Partial<AppConfigValues>): AppConfig {
  return new AppConfig(values as AppConfigValues);
}

/** What became of a promise so far. */
function watch(promise: Promise<unknown>): { state: 'pending' | 'resolved' | 'rejected' } {
  const seen = { state: 'pending' as 'pending' | 'resolved' | 'rejected' };
  promise.then(
    () => (seen.state = 'resolved'),
    () => (seen.state = 'rejected'),
  );
  return seen;
}

describe(AuthFailureDelay.name, () => {
  let clientLeft: jest.Mock;
  let sut: AuthFailureDelay;
  let response: FakeResponse;

  beforeEach(() => {
    jest.useFakeTimers();
    clientLeft = jest.fn();
    sut = new AuthFailureDelay(config({ authFailureDelayMs: DELAY_MS }), {
      clientLeft,
    } as unknown as RefusedRequests);
    response = new FakeResponse();
  });
  afterEach(() => jest.useRealTimers());

  const refuse = () => sut.refuse(REFUSAL, response as unknown as ServerResponse);

  it('rejects with the refusal once the delay has passed, not before', async () => {
    const refusal = refuse();
    const seen = watch(refusal);

    await jest.advanceTimersByTimeAsync(DELAY_MS - 1);
    expect(seen.state).toBe('pending');
    await jest.advanceTimersByTimeAsync(1);

    await expect(refusal).rejects.toBe(REFUSAL);
    expect(sut.pendingCount).toBe(0);
    expect(response.listenerCount('close')).toBe(0);
  });

  it('costs nothing more when the client hangs up meanwhile: no timer, no answer, one count', async () => {
    const seen = watch(refuse());
    expect(jest.getTimerCount()).toBe(1);

    response.hangUp();
    await jest.advanceTimersByTimeAsync(10 * DELAY_MS);

    expect(jest.getTimerCount()).toBe(0);
    expect(sut.pendingCount).toBe(0);
    expect(seen.state).toBe('pending');
    expect(clientLeft).toHaveBeenCalledWith(401, 'UNAUTHENTICATED');
  });

  it('starts no timer for a client that already left', () => {
    response.destroyed = true;

    void refuse();

    expect(jest.getTimerCount()).toBe(0);
    expect(clientLeft).toHaveBeenCalledTimes(1);
  });

  it('answers pending refusals at once on shutdown, and later ones without a delay', async () => {
    const refusals = [refuse(), refuse()];

    sut.beforeApplicationShutdown();

    expect(jest.getTimerCount()).toBe(0);
    await expect(Promise.all(refusals)).rejects.toBe(REFUSAL);
    expect(refuse).toThrow(REFUSAL);
    expect(clientLeft).not.toHaveBeenCalled();
  });

  it('throws at once with AUTH_FAILURE_DELAY_MS=0', () => {
    sut = new AuthFailureDelay(config({ authFailureDelayMs: 0 }), {} as unknown as RefusedRequests);

    expect(refuse).toThrow(REFUSAL);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe(`${ClientKeyGuard.name} with the delay`, () => {
  const KEY = 'sfb_guard-spec-key';
  const handler = (): void => undefined;
  RequireScope('numbers:read')(handler);
  const clients = parseClientKeys(
    JSON.stringify([
      { id: 'reader', keySha256: sha256(KEY).toString('hex'), scopes: ['numbers:read'] },
    ]),
    'CLIENT_KEYS',
    [],
  );
  const delay = new AuthFailureDelay(config({ authFailureDelayMs: DELAY_MS }), {
    clientLeft: () => undefined,
  } as unknown as RefusedRequests);
  const guard = new ClientKeyGuard(new Reflector(), config({ clients }), delay);

  function contextFor(headers: Record<string, string>): ExecutionContext {
    const request = {
      headers,
      raw: { headers, rawHeaders: Object.entries(headers).flat() },
    };
    const reply = { raw: new FakeResponse() };
    return {
      getHandler: () => handler,
      switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }),
    } as unknown as ExecutionContext;
  }

  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('admits a valid key synchronously: true, not a promise', () => {
    expect(guard.canActivate(contextFor({ authorization: `Bearer ${KEY}` }))).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it.each([
    ['an unknown key', { authorization: 'Bearer sfb_nope' }, 'error="invalid_token"'],
    ['no key', {}, 'Bearer realm="superfone-bff"'],
  ])('refuses %s through the delay, with the same 401 each time', async (_, headers, challenge) => {
    const first = guard.canActivate(contextFor(headers));
    const second = guard.canActivate(contextFor(headers));
    expect(first).toBeInstanceOf(Promise);
    const settled = Promise.allSettled([first, second]);
    await jest.advanceTimersByTimeAsync(DELAY_MS);

    const [a, b] = await settled;
    expect(a).toEqual({ status: 'rejected', reason: expect.any(AppError) });
    const error = (a as PromiseRejectedResult).reason as AppError;
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.headers['www-authenticate']).toContain(challenge);
    expect((b as PromiseRejectedResult).reason).toBe(error);
  });
});
