import { connect } from 'node:net';

/** Sends raw bytes to host:port and resolves everything the server wrote back before closing. */
export async function rawRequest(url: string, payload: string, timeoutMs = 3000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.on('error', reject);
    socket.write(payload);
  });
}

/** Status code and parsed JSON body of a raw HTTP/1.1 answer. */
export function parseRaw(answer: string): { status: number; headers: string; body: unknown } {
  const [head, ...rest] = answer.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const text = rest.join('\r\n\r\n');
  return {
    status,
    headers: head.toLowerCase(),
    body: text ? (JSON.parse(text) as unknown) : undefined,
  };
}
