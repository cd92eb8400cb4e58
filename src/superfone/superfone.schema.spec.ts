import {
  parseApps,
  parseAppNumbers,
  parseAvailableNumbers,
  parseErrorMessage,
  parseLink,
  parseUnlink,
} from './superfone.schema';

describe(parseAvailableNumbers.name, () => {
  const valid = { id: 1, voip_number: '+918000000001', provider: 'exotel', status: 'ACTIVE' };

  it('normalizes the documented envelope to camelCase and drops unknown fields', () => {
    expect(parseAvailableNumbers({ data: [{ ...valid, extra: 'x' }], message: 'success' })).toEqual(
      [{ id: 1, voipNumber: '+918000000001', provider: 'exotel', status: 'ACTIVE' }],
    );
    expect(parseAvailableNumbers({ data: [], message: 'success' })).toEqual([]);
  });

  it.each([
    ['no data', { message: 'success' }],
    ['data not an array', { data: { numbers: [] } }],
    ['a non-E.164 number', { data: [{ ...valid, voip_number: '8000000001' }] }],
    ['a string id', { data: [{ ...valid, id: '1' }] }],
    ['an empty provider', { data: [{ ...valid, provider: '' }] }],
    ['null', null],
  ])('rejects the whole answer when it has %s', (_, body) => {
    expect(parseAvailableNumbers(body)).toBeUndefined();
  });
});

describe(parseApps.name, () => {
  const app = {
    app_id: 'sfv_app_abc123',
    org_id: 1,
    name: 'Support',
    answer_url: 'https://example.com/a',
    status: 'ACTIVE',
    created_at: '2026-02-02T10:30:00.000Z',
    updated_at: null,
  };

  it('keeps appId, name, status and createdAt, in order', () => {
    expect(parseApps({ data: [app, { ...app, app_id: 'b' }], message: 'success' })).toEqual([
      { appId: 'sfv_app_abc123', name: 'Support', status: 'ACTIVE', createdAt: app.created_at },
      { appId: 'b', name: 'Support', status: 'ACTIVE', createdAt: app.created_at },
    ]);
  });

  it.each([
    ['an app id with a slash', { ...app, app_id: 'a/b' }],
    ['an empty name', { ...app, name: '' }],
    ['a created_at that is no timestamp', { ...app, created_at: 'yesterday' }],
  ])('rejects the whole list when an app has %s', (_, bad) => {
    expect(parseApps({ data: [app, bad] })).toBeUndefined();
  });
});

describe(parseAppNumbers.name, () => {
  const link = {
    app_id: 'sfv_app_abc123',
    voip_number: '+918000000001',
    org_id: 1,
    status: 'ACTIVE',
    created_at: '2026-02-02T10:30:00.000Z',
    updated_at: null,
  };
  const normalized = {
    appId: 'sfv_app_abc123',
    voipNumber: '+918000000001',
    status: 'ACTIVE',
    linkedAt: '2026-02-02T10:30:00.000Z',
  };

  it('maps links, created_at becoming linkedAt', () => {
    expect(parseAppNumbers({ data: [link], message: 'success' })).toEqual([normalized]);
    expect(parseAppNumbers({ data: [] })).toEqual([]);
  });

  it('parseLink maps the one link of a POST answer', () => {
    expect(parseLink({ data: link, message: 'success' })).toEqual(normalized);
    expect(parseLink({ data: [link] })).toBeUndefined();
    expect(parseLink({ data: { ...link, voip_number: '8000000001' } })).toBeUndefined();
  });
});

describe(parseUnlink.name, () => {
  it('accepts {deleted: true} only', () => {
    expect(parseUnlink({ data: { deleted: true }, message: 'success' })).toBe(true);
    expect(parseUnlink({ data: { deleted: false } })).toBeUndefined();
    expect(parseUnlink({ data: {} })).toBeUndefined();
  });
});

describe(parseErrorMessage.name, () => {
  it("reads Superfone's {message} and nothing else", () => {
    expect(parseErrorMessage('{"message":"App not found"}')).toBe('App not found');
    expect(parseErrorMessage('<html>502</html>')).toBeUndefined();
    expect(parseErrorMessage('{"error":"x"}')).toBeUndefined();
  });
});
