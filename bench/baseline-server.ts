/**
 * The reference servers: bare node:http answering every request with the exact bytes the service
 * sends for GET /numbers/available, three ways (BASELINE_MODE):
 * - `buffer`: one pre-serialized Buffer written as is: the floor for any Node server;
 * - `stringify`: JSON.stringify of the parsed body on every request: what a naive handler pays;
 * - `redis`: one ioredis GET of the body per request: what a cache without an in-process tier pays.
 * Env: PORT, BODY_FILE, CONTENT_TYPE, BASELINE_MODE, and for `redis` REDIS_URL and REDIS_KEY.
 */
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import { Redis } from 'ioredis';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`baseline-server: ${name} is required\n`);
    process.exit(1);
  }
  return value;
}

const port = Number(required('PORT'));
const mode = required('BASELINE_MODE');
const contentType = required('CONTENT_TYPE');
const body = readFileSync(required('BODY_FILE'));

function handlerFor(): RequestListener {
  switch (mode) {
    case 'buffer': {
      const length = String(body.length);
      return (_req, res) => {
        res.writeHead(200, { 'content-type': contentType, 'content-length': length });
        res.end(body);
      };
    }
    case 'stringify': {
      const value: unknown = JSON.parse(body.toString('utf8'));
      return (_req, res) => {
        const text = JSON.stringify(value);
        res.writeHead(200, {
          'content-type': contentType,
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      };
    }
    case 'redis': {
      const key = required('REDIS_KEY');
      const redis = new Redis(required('REDIS_URL'), { maxRetriesPerRequest: 1 });
      redis.on('error', (error: Error) =>
        process.stderr.write(`baseline-server redis: ${error.message}\n`),
      );
      return (_req, res) => {
        redis.getBuffer(key).then(
          (value) => {
            if (!value) {
              res.writeHead(404).end();
              return;
            }
            res.writeHead(200, { 'content-type': contentType, 'content-length': value.length });
            res.end(value);
          },
          () => res.writeHead(503).end(),
        );
      };
    }
    default:
      process.stderr.write(`baseline-server: unknown BASELINE_MODE ${mode}\n`);
      process.exit(1);
  }
}

const server = createServer(handlerFor());
server.listen(port, '127.0.0.1', () =>
  process.stdout.write(`baseline ${mode} listening on ${port}\n`),
);
// Exit promptly on SIGTERM: open keep-alive sockets would otherwise hold close() open.
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
