import { NotFoundException } from '@nestjs/common';
import { AppError, InvalidRequestError } from './app.error';
import { toProblem } from './problem';

describe(toProblem.name, () => {
  it('turns an unexpected error into a generic 500 that reveals nothing', () => {
    const error = new Error('connect ECONNREFUSED 10.1.2.3:6379 with key sf-secret');

    const sut = toProblem(error, 'req-1', '/numbers/available');

    expect(sut.unexpected).toBe(true);
    expect(sut.body).toEqual({
      type: 'urn:superfone-bff:problem:internal',
      title: 'Internal error',
      status: 500,
      detail: expect.any(String) as unknown,
      instance: '/numbers/available',
      code: 'INTERNAL',
      requestId: 'req-1',
    });
    expect(JSON.stringify(sut.body)).not.toMatch(/ECONNREFUSED|sf-secret|Error/);
  });

  it('keeps our own errors, with their headers', () => {
    expect(toProblem(new InvalidRequestError('bad provider'), 'r', '/x').body).toMatchObject({
      status: 400,
      code: 'INVALID_REQUEST',
      detail: 'bad provider',
    });
    const unavailable = new AppError('UPSTREAM_UNAVAILABLE', 'Superfone could not be reached.', {
      'retry-after': '5',
    });
    expect(toProblem(unavailable, 'r', '/x')).toMatchObject({
      body: { status: 503, code: 'UPSTREAM_UNAVAILABLE' },
      headers: { 'retry-after': '5' },
    });
  });

  it("maps Nest's 404 without echoing its message", () => {
    const sut = toProblem(new NotFoundException('Cannot GET /<script>'), 'r', '/x');

    expect(sut.body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(JSON.stringify(sut.body)).not.toContain('script');
  });
});
