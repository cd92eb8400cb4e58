import { normalizedPath, requestFingerprint } from './request-fingerprint';

describe(requestFingerprint.name, () => {
  const body = { voipNumber: '+918000000001' };
  const base = requestFingerprint('POST', '/apps/app-1/numbers', body);

  it('is the same for the same method, path and body', () => {
    expect(requestFingerprint('post', '/apps/app-1/numbers', { ...body })).toBe(base);
  });

  it('ignores key order in the body and the query string', () => {
    const a = requestFingerprint('POST', '/x', { a: 1, b: { c: 2, d: [1, { e: 3, f: 4 }] } });
    const b = requestFingerprint('POST', '/x?ignored=1', {
      b: { d: [1, { f: 4, e: 3 }], c: 2 },
      a: 1,
    });
    expect(b).toBe(a);
  });

  it('tells apart another method, path or body', () => {
    expect(requestFingerprint('DELETE', '/apps/app-1/numbers', body)).not.toBe(base);
    expect(requestFingerprint('POST', '/apps/app-2/numbers', body)).not.toBe(base);
    expect(
      requestFingerprint('POST', '/apps/app-1/numbers', { voipNumber: '+918000000002' }),
    ).not.toBe(base);
    expect(requestFingerprint('POST', '/apps/app-1/numbers', undefined)).not.toBe(base);
    // Array order is meaning, not layout.
    expect(requestFingerprint('POST', '/x', [1, 2])).not.toBe(
      requestFingerprint('POST', '/x', [2, 1]),
    );
  });

  it('reads %2B… and a literal + in a path as one number', () => {
    expect(normalizedPath('/apps/a/numbers/+918000000001')).toBe('/apps/a/numbers/%2B918000000001');
    expect(normalizedPath('/apps/a/numbers/%2b918000000001')).toBe(
      '/apps/a/numbers/%2B918000000001',
    );
    expect(requestFingerprint('DELETE', '/apps/a/numbers/%2B918000000001', undefined)).toBe(
      requestFingerprint('DELETE', '/apps/a/numbers/+918000000001', undefined),
    );
  });

  it('keeps a malformed escape as written', () => {
    expect(normalizedPath('/apps/%E0%A4%A/x')).toBe('/apps/%25E0%25A4%25A/x');
  });
});
