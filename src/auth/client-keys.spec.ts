import { parseClientKeys } from '../config/client-keys';
import { findClient, indexClients, issueClientKey, sha256 } from './client-keys';

describe(findClient.name, () => {
  const clients = indexClients(
    parseClientKeys(
      JSON.stringify([
        { id: 'a', keySha256: sha256('key-a').toString('hex'), scopes: ['numbers:read'] },
        {
          id: 'b',
          keySha256: sha256('key-b').toString('hex').toUpperCase(),
          scopes: ['numbers:refresh'],
        },
      ]),
      'CLIENT_KEYS',
      [],
    ),
  );

  it('finds the client by the hash of its key (hex in any case)', () => {
    expect(findClient(clients, 'key-a')?.id).toBe('a');
    expect(findClient(clients, 'key-b')?.id).toBe('b');
    expect(findClient(clients, 'key-c')).toBeUndefined();
    expect(findClient(clients, '')).toBeUndefined();
  });

  it('issues keys that the entry it prints admits', () => {
    const sut = issueClientKey('new-app', ['numbers:read']);
    const admitted = indexClients(parseClientKeys(JSON.stringify([sut.entry]), 'CLIENT_KEYS', []));

    expect(sut.key).toMatch(/^sfb_[A-Za-z0-9_-]{43}$/);
    expect(findClient(admitted, sut.key)?.id).toBe('new-app');
    expect(JSON.stringify(sut.entry)).not.toContain(sut.key);
  });
});
