import { parseAnnouncement, parseGeneration } from './invalidation-bus';

/** What another replica (or anything else on the channel) may send; the bus itself runs against real Redis in test/. */
describe('parseAnnouncement', () => {
  const valid = {
    era: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
    generation: 7,
    resources: ['available-numbers', 'app-numbers:app-1'],
    origin: 'a3c1e2f0-0000-4000-8000-000000000001',
  };

  it('takes a message as announce() writes it, extra fields and all', () => {
    expect(parseAnnouncement(JSON.stringify(valid))).toEqual(valid);
    expect(parseAnnouncement(JSON.stringify({ ...valid, future: true }))).toEqual(valid);
  });

  it.each([
    ['not JSON', '{', 'not JSON'],
    ['not an object', 'null', 'not an object'],
    ['a string generation', JSON.stringify({ ...valid, generation: '7' }), 'generation is not'],
    ['generation 0', JSON.stringify({ ...valid, generation: 0 }), 'generation is not'],
    ['a fractional generation', JSON.stringify({ ...valid, generation: 1.5 }), 'generation is not'],
    ['no era', JSON.stringify({ ...valid, era: undefined }), 'era is not'],
    ['an era that would break the JSON', JSON.stringify({ ...valid, era: 'a"b' }), 'era is not'],
    ['no origin', JSON.stringify({ ...valid, origin: '' }), 'origin is not'],
    ['no resources', JSON.stringify({ ...valid, resources: [] }), 'resources is not'],
    ['a resource not a string', JSON.stringify({ ...valid, resources: [1] }), 'resources is not'],
    [
      'too many resources',
      JSON.stringify({ ...valid, resources: Array.from({ length: 101 }, (_, i) => `r${i}`) }),
      'resources is not',
    ],
    ['a huge text', 'x'.repeat(16 * 1024 + 1), 'longer than'],
  ])('refuses %s, saying why', (_name, text, reason) => {
    expect(parseAnnouncement(text)).toEqual(expect.stringContaining(reason));
  });
});

describe('parseGeneration', () => {
  it('reads `<era>:<n>`, and no key as no era and no change', () => {
    expect(parseGeneration('e-1:42')).toEqual({ era: 'e-1', n: 42 });
    expect(parseGeneration(null)).toEqual({ era: null, n: 0 });
  });

  it('anything else is unreadable', () => {
    for (const stored of ['42', 'e:', ':4', 'e:4:5', 'e:-1', `e:${'9'.repeat(16)}`, 'é:1'])
      expect(parseGeneration(stored)).toBeUndefined();
  });
});
