import {
  createServer,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One entry of Superfone's available-numbers list, as the upstream spells it. */
export interface StandInNumber {
  id: number;
  voip_number: string;
  provider: string;
  status: string;
}

/** A request the stand-in received (any path), with headers as Node gives them (lower-case names). */
export interface RecordedRequest {
  method: string;
  /** The request target as sent, query string included. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  at: number;
}

/** How the stand-in answers an authenticated GET /superfone/sfvopi/available-numbers. */
export type StandInBehaviour =
  | { kind: 'ok'; delayMs?: number }
  | {
      kind: 'status';
      status: number;
      body?: string;
      contentType?: string;
      headers?: Record<string, string>;
      delayMs?: number;
    }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'non-json' }
  | { kind: 'truncated' }
  | { kind: 'wrong-shape' };

/** Constructor options of {@link SuperfoneStandIn}. */
export interface StandInOptions {
  /** The only key accepted in `x-api-key`. */
  apiKey: string;
  /** What the 'ok' answer returns; default `demoNumbers()`. */
  numbers?: StandInNumber[];
  /** Serve the `/__stand-in/*` control API (stats, behaviour, reset); default false. */
  control?: boolean;
  /** Persistent behaviour at start and after reset(); default `{ kind: 'ok' }`. */
  defaultBehaviour?: StandInBehaviour;
  /** Keep only the most recent N recorded requests; default unlimited. */
  maxRecordedRequests?: number;
}

const PREFIX = '/superfone';
const NUMBERS_PATH = `${PREFIX}/sfvopi/available-numbers`;
const CONTROL_PREFIX = '/__stand-in/';
const JSON_TYPE = 'application/json; charset=utf-8';
const MISSING_KEY = 'UnAuthorized, Please Provide API Key';
const INVALID_KEY = 'UnAuthorized, Please Provide Valid API Key';
const NOT_FOUND = JSON.stringify({ message: 'Not Found' });
const WRONG_SHAPE = JSON.stringify({ data: { numbers: [] }, message: 'success' });
const HTML_PAGE =
  '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>';
const CONTROL_BODY_LIMIT = 64 * 1024;
const KINDS: ReadonlySet<string> = new Set<StandInBehaviour['kind']>([
  'ok',
  'status',
  'hang',
  'reset',
  'non-json',
  'truncated',
  'wrong-shape',
]);

interface Waiter {
  n: number;
  settle(error?: Error): void;
}

/** A faithful `node:http` stand-in for Superfone's available-numbers endpoint that can be scripted to fail. */
export class SuperfoneStandIn {
  numbers: StandInNumber[];

  private readonly apiKey: string;
  private readonly control: boolean;
  private readonly initialNumbers: StandInNumber[];
  private readonly defaultBehaviour: StandInBehaviour;
  private readonly maxRecorded: number;
  private behaviour: StandInBehaviour;
  private queue: StandInBehaviour[] = [];
  private callCount = 0;
  private recorded: RecordedRequest[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiters = new Set<Waiter>();

  constructor(options: StandInOptions) {
    this.apiKey = options.apiKey;
    this.control = options.control ?? false;
    this.initialNumbers = copyNumbers(options.numbers ?? demoNumbers());
    this.numbers = copyNumbers(this.initialNumbers);
    this.defaultBehaviour = options.defaultBehaviour ?? { kind: 'ok' };
    this.behaviour = this.defaultBehaviour;
    this.maxRecorded = options.maxRecordedRequests ?? Infinity;
  }

  /** Count of GET /superfone/sfvopi/available-numbers requests, whatever the answer (auth failures included). */
  get calls(): number {
    return this.callCount;
  }

  /** Every request received (any path), oldest first. */
  get requests(): RecordedRequest[] {
    return [...this.recorded];
  }

  /** Listens (default: a free port on 127.0.0.1) and resolves the base URL to use as SUPERFONE_BASE_URL. */
  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error('SuperfoneStandIn is already started');
    const server = createServer((req, res) => {
      this.handle(req, res);
    });
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      this.server = undefined;
      throw error;
    }
    const { port: actualPort } = server.address() as AddressInfo;
    const hostInUrl = host.includes(':') ? `[${host}]` : host;
    return `http://${hostInUrl}:${actualPort}${PREFIX}`;
  }

  /** Closes the server and destroys every open socket (hung ones too); resolves once closed. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of this.waiters) {
      waiter.settle(
        new Error(
          `SuperfoneStandIn stopped while waiting for ${waiter.n} calls (saw ${this.callCount})`,
        ),
      );
    }
    await new Promise<void>((resolve, reject) => {
      server.close((error) => {
        if (error) reject(error);
        else resolve();
      });
      for (const socket of this.sockets) socket.destroy();
    });
  }

  /** Sets the persistent behaviour for available-numbers. */
  setBehaviour(behaviour: StandInBehaviour): void {
    this.behaviour = behaviour;
  }

  /** Queues one-shot behaviours, consumed in order by authenticated available-numbers calls. */
  enqueue(...behaviours: StandInBehaviour[]): void {
    this.queue.push(...behaviours);
  }

  /** Zeroes calls, clears recorded requests and the queue, restores the default behaviour and the constructor's numbers. */
  reset(): void {
    this.callCount = 0;
    this.recorded = [];
    this.queue = [];
    this.behaviour = this.defaultBehaviour;
    this.numbers = copyNumbers(this.initialNumbers);
  }

  /** Resolves once `calls >= n`; rejects after `timeoutMs` (default 5000) or on stop(). */
  waitForCalls(n: number, timeoutMs = 5000): Promise<void> {
    if (this.callCount >= n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        n,
        settle: (error) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          if (error) reject(error);
          else resolve();
        },
      };
      const timer = setTimeout(() => {
        waiter.settle(
          new Error(
            `SuperfoneStandIn.waitForCalls: expected at least ${n} calls to GET ${NUMBERS_PATH} ` +
              `within ${timeoutMs} ms, saw ${this.callCount}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const target = req.url ?? '/';
    this.record(req, target);
    const path = target.split('?', 1)[0];
    if (path === NUMBERS_PATH && req.method === 'GET') {
      this.serveNumbers(req, res);
      return;
    }
    if (this.control && path.startsWith(CONTROL_PREFIX)) {
      this.serveControl(req, res, path);
      return;
    }
    send(res, 404, NOT_FOUND);
  }

  private record(req: IncomingMessage, target: string): void {
    if (this.maxRecorded <= 0) return;
    this.recorded.push({
      method: req.method ?? '',
      path: target,
      headers: { ...req.headers },
      at: Date.now(),
    });
    if (this.recorded.length > this.maxRecorded)
      this.recorded.splice(0, this.recorded.length - this.maxRecorded);
  }

  private serveNumbers(req: IncomingMessage, res: ServerResponse): void {
    this.callCount++;
    for (const waiter of this.waiters) if (this.callCount >= waiter.n) waiter.settle();

    const header = req.headers['x-api-key'];
    const presented = Array.isArray(header) ? header.join(', ') : (header ?? '');
    if (presented.trim() === '') {
      send(res, 401, JSON.stringify({ message: MISSING_KEY }));
      return;
    }
    if (presented !== this.apiKey) {
      send(res, 401, JSON.stringify({ message: INVALID_KEY }));
      return;
    }

    const behaviour = this.queue.shift() ?? this.behaviour;
    switch (behaviour.kind) {
      case 'ok': {
        this.later(behaviour.delayMs, () => {
          send(res, 200, this.okBody());
        });
        return;
      }
      case 'status': {
        const { status, body, contentType, headers, delayMs } = behaviour;
        this.later(delayMs, () => {
          send(res, status, body ?? defaultStatusBody(status), contentType, headers);
        });
        return;
      }
      case 'hang':
        return; // the socket stays open until the client gives up or stop() destroys it
      case 'reset':
        req.socket.destroy();
        return;
      case 'non-json': {
        send(res, 200, HTML_PAGE, 'text/html; charset=utf-8');
        return;
      }
      case 'truncated': {
        const full = Buffer.from(this.okBody());
        send(res, 200, full.subarray(0, Math.floor(full.length / 2)));
        return;
      }
      case 'wrong-shape': {
        send(res, 200, WRONG_SHAPE);
        return;
      }
    }
  }

  // Serialized per call so that replacing or mutating `numbers` shows on the very next call.
  private okBody(): string {
    return JSON.stringify({ data: this.numbers, message: 'success' });
  }

  private later(delayMs: number | undefined, answer: () => void): void {
    if (!delayMs || delayMs <= 0) {
      answer();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      answer();
    }, delayMs);
    this.timers.add(timer);
  }

  private serveControl(req: IncomingMessage, res: ServerResponse, path: string): void {
    const route = `${req.method} ${path}`;
    if (route === `GET ${CONTROL_PREFIX}stats`) {
      send(res, 200, JSON.stringify({ calls: this.callCount }));
      return;
    }
    if (route === `POST ${CONTROL_PREFIX}reset`) {
      this.reset();
      noContent(res);
      return;
    }
    if (route === `POST ${CONTROL_PREFIX}behaviour`) {
      void this.setBehaviourFromBody(req, res);
      return;
    }
    send(res, 404, NOT_FOUND);
  }

  private async setBehaviourFromBody(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text: string | undefined;
    try {
      text = await readBody(req, CONTROL_BODY_LIMIT);
    } catch {
      return; // the client went away mid-body
    }
    if (text === undefined) {
      send(res, 413, JSON.stringify({ message: 'Body too large' }));
      return;
    }
    const parsed = parseBehaviour(text);
    if (typeof parsed === 'string') {
      send(res, 400, JSON.stringify({ message: parsed }));
      return;
    }
    this.setBehaviour(parsed);
    noContent(res);
  }
}

/** A deterministic list of `count` (default 24, ~2 KB of JSON) plausible available numbers. */
export function demoNumbers(count = 24): StandInNumber[] {
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError(`demoNumbers: count must be a non-negative integer`);
  return Array.from({ length: count }, (_, i) => ({
    id: 10001 + i,
    voip_number: `+91${8000000001 + i}`,
    provider: i % 2 === 0 ? 'exotel' : 'plivo',
    status: i % 7 === 6 ? 'INACTIVE' : 'ACTIVE',
  }));
}

function copyNumbers(numbers: StandInNumber[]): StandInNumber[] {
  return numbers.map((n) => ({ ...n }));
}

function defaultStatusBody(status: number): string {
  const message =
    status === 500
      ? 'Failed to get available numbers: stand-in failure'
      : (STATUS_CODES[status] ?? 'Error');
  return JSON.stringify({ message });
}

function send(
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

function noContent(res: ServerResponse): void {
  send(res, 204, '');
}

/** Reads the whole body; resolves undefined (after draining it) when it exceeds `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks).toString('utf8');
}

/** Parses and checks a control-API behaviour; returns an error message when it is not a valid StandInBehaviour. */
function parseBehaviour(text: string): StandInBehaviour | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'Body must be JSON';
  }
  if (!isRecord(value)) return 'Body must be a JSON object';
  const { kind, delayMs, status, body, contentType, headers } = value;
  if (typeof kind !== 'string' || !KINDS.has(kind))
    return `kind must be one of ${[...KINDS].join(', ')}`;
  if (
    delayMs !== undefined &&
    !(typeof delayMs === 'number' && Number.isFinite(delayMs) && delayMs >= 0)
  ) {
    return 'delayMs must be a non-negative number';
  }
  if (kind === 'status') {
    if (!(
      typeof status === 'number' &&
      Number.isInteger(status) &&
      status >= 200 &&
      status <= 599
    )) {
      return 'status must be an integer from 200 to 599';
    }
    if (body !== undefined && typeof body !== 'string') return 'body must be a string';
    if (contentType !== undefined && typeof contentType !== 'string')
      return 'contentType must be a string';
    if (
      headers !== undefined &&
      !(isRecord(headers) && Object.values(headers).every((v) => typeof v === 'string'))
    ) {
      return 'headers must be an object of strings';
    }
  }
  return value as StandInBehaviour;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
