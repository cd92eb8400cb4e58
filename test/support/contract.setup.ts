import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, afterEach, expect } from '@jest/globals';
import { Contract, contract } from './contract';
import { serviceUrls } from './service-urls';

/**
 * Jest setup (setupFilesAfterEnv): every answer a service started by the suites sends to
 * `fetch` is checked against openapi.json. Failures fail the test that received the answer;
 * the counts go to reports/contract/<suite>.json for the record.
 */

const pending: Promise<void>[] = [];
const failures: string[] = [];
const counts = { checked: 0, outsideTheDocument: 0 };
const realFetch = globalThis.fetch;

globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const response = await realFetch(input, init);
  const url = input instanceof Request ? input.url : String(input);
  const origin = URL.canParse(url) ? new URL(url).origin : '';
  if (!serviceUrls.has(origin)) return response;
  if (Contract.outside(url)) {
    counts.outsideTheDocument++;
    return response;
  }
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  const copy = response.clone();
  pending.push(
    copy.text().then(
      (body) => {
        counts.checked++;
        const problems = contract().check({
          method,
          url,
          status: response.status,
          headers: response.headers,
          body,
        });
        if (problems.length > 0)
          failures.push(
            `${method} ${new URL(url).pathname} → ${response.status}: ${problems.join('; ')}`,
          );
      },
      () => undefined, // the test aborted the request: nothing came to check
    ),
  );
  return response;
};

afterEach(async () => {
  await Promise.all(pending.splice(0));
  const found = failures.splice(0);
  expect(found).toEqual([]);
});

afterAll(() => {
  if (counts.checked + counts.outsideTheDocument === 0) return;
  const dir = join(__dirname, '..', '..', 'reports', 'contract');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${basename(expect.getState().testPath ?? 'unknown')}.json`),
    JSON.stringify(counts),
  );
});
