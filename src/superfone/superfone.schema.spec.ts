import { parseAvailableNumbers } from './superfone.schema';

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
