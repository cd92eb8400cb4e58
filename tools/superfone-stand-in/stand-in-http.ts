import type { IncomingMessage, ServerResponse } from 'node:http';

export const JSON_TYPE = 'application/json; charset=utf-8';

export function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  contentType = JSON_TYPE,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed || res.writableEnded) return;
  res.statusCode = status;
  // 204 and 304 must not carry a body or a Content-Length.
  const bodyless = status === 204 || status === 304;
  if (!bodyless) {
    res.setHeader('content-type', contentType);
    res.setHeader('content-length', Buffer.byteLength(body));
  }
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.end(bodyless ? undefined : body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body));
}

export function noContent(res: ServerResponse): void {
  send(res, 204, '');
}

/** Reads the whole body; resolves undefined (after draining it) when it exceeds `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks).toString('utf8');
}
