import { expect } from '@jest/globals';
import { contract } from './support/contract';

/**
 * The contract check itself (test/support/contract.ts), on answers made up here: it must refuse
 * what openapi.json does not describe, or every e2e suite's check would pass whatever came back.
 */
const json = 'application/json; charset=utf-8';
const problemJson = 'application/problem+json; charset=utf-8';
const problem = (status: number, code: string) =>
  JSON.stringify({
    type: `urn:superfone-bff:problem:${code.toLowerCase()}`,
    title: 't',
    status,
    detail: 'd',
    instance: '/x',
    code,
    requestId: 'r',
  });
const answer = (
  method: string,
  path: string,
  status: number,
  headers: Record<string, string>,
  body: string,
) => ({ method, url: `http://127.0.0.1:1${path}`, status, headers: new Headers(headers), body });
/** What every cached list's answer carries (required in the document). */
const cached = {
  'content-type': json,
  etag: '"e"',
  'cache-control': 'private, max-age=30',
  age: '0',
  'cache-status': 'superfone-bff; hit; ttl=30',
  'x-request-id': 'r',
  ratelimit: '"client";r=1;t=60',
  'ratelimit-policy': '"client";q=600;w=60',
};
const numbers = JSON.stringify({
  data: [{ id: 1, voipNumber: '+918000000001', provider: 'exotel', status: 'ACTIVE' }],
  meta: { count: 1, fetchedAt: '2026-12-06T10:00:00.000Z' },
});

describe('the contract check', () => {
  it('accepts documented answers', () => {
    const c = contract();
    expect(c.check(answer('GET', '/numbers/available', 200, cached, numbers))).toEqual([]);
    expect(c.check(answer('HEAD', '/numbers/available', 200, cached, ''))).toEqual([]);
    expect(
      c.check(
        answer(
          'GET',
          '/numbers/available',
          401,
          { 'content-type': problemJson, 'www-authenticate': 'Bearer', 'x-request-id': 'r' },
          problem(401, 'UNAUTHENTICATED'),
        ),
      ),
    ).toEqual([]);
    expect(
      c.check(
        answer(
          'DELETE',
          '/apps/a1/numbers/%2B918000000001',
          204,
          { 'x-request-id': 'r', 'cache-control': 'no-store' },
          '',
        ),
      ),
    ).toEqual([]);
    expect(
      c.check(
        answer('GET', '/nowhere', 404, { 'content-type': problemJson }, problem(404, 'NOT_FOUND')),
      ),
    ).toEqual([]);
  });

  const withoutEtag = Object.fromEntries(
    Object.entries(cached).filter(([name]) => name !== 'etag'),
  );
  it.each([
    [
      'a cached list without its ETag',
      answer('GET', '/numbers/available', 200, withoutEtag, numbers),
      /required header ETag is missing/,
    ],
    [
      'a body off its schema',
      answer('GET', '/numbers/available', 200, { 'content-type': json }, '{"data":[{"id":"x"}]}'),
      /body/,
    ],
    [
      'an extra field in a closed object',
      answer(
        'GET',
        '/numbers/available',
        200,
        { 'content-type': json },
        numbers.replace('"meta":{', '"meta":{"extra":1,'),
      ),
      /additional/,
    ],
    [
      'the wrong content type',
      answer('GET', '/numbers/available', 200, { 'content-type': 'text/html' }, numbers),
      /content-type text\/html/,
    ],
    [
      'a body on a 204',
      answer('DELETE', '/apps/a1/numbers/%2B918000000001', 204, {}, 'x'),
      /a body/,
    ],
    [
      'a problem with an unknown code',
      answer(
        'GET',
        '/numbers/available',
        400,
        { 'content-type': problemJson },
        problem(400, 'NOPE'),
      ),
      /code/,
    ],
    [
      'a 200 on a path the document lacks',
      answer('GET', '/nowhere', 200, { 'content-type': json }, '{}'),
      /does not have/,
    ],
    [
      'a bare 404 on a path the document lacks',
      answer('GET', '/nowhere', 404, { 'content-type': 'text/plain' }, 'Not Found'),
      /not a problem/,
    ],
  ])('refuses %s', (_, made, message) => {
    const problems = contract().check(made);
    expect(problems.join('\n')).toMatch(message);
  });
});
