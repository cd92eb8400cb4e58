import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  performs,
  RouteBehaviours,
  type StandInBehaviour,
  type StandInRoute,
} from './stand-in-behaviour';
import { CONTROL_PREFIX, serveControl } from './stand-in-control';
import { readBody, send, sendJson } from './stand-in-http';
import {
  defaultStatusBody,
  matchRoute,
  type Matched,
  PREFIX,
  requestedNumber,
  ROUTE_LABELS,
} from './stand-in-routes';
import {
  type Answer,
  demoApps,
  demoNumbers,
  failure,
  MESSAGES,
  OrgState,
  type SameAppLink,
  type StandInApp,
  type StandInLink,
  type StandInNumber,
} from './stand-in-state';

export { demoApps, demoNumbers, MESSAGES, normalizeNumber } from './stand-in-state';
export type { Answer, SameAppLink, StandInApp, StandInLink, StandInNumber } from './stand-in-state';
export { STAND_IN_ROUTES } from './stand-in-behaviour';
export type { StandInBehaviour, StandInRoute } from './stand-in-behaviour';

/** A request the stand-in received (any path), with headers as Node gives them (lower-case names). */
export interface RecordedRequest {
  method: string;
  /** The request target as sent, query string included. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  at: number;
  /** The upstream route it matched, if any. */
  route?: StandInRoute;
  /** The body, once the stand-in has read it (link requests it did not reset). */
  body?: string;
}

/** Constructor options of {@link SuperfoneStandIn}. */
export interface StandInOptions {
  /** The only key accepted in `x-api-key`. */
  apiKey: string;
  /** The org's numbers not linked to any app; default `demoNumbers()`. */
  numbers?: StandInNumber[];
  /** The org's apps, none with numbers linked; default `demoApps()`. */
  apps?: StandInApp[];
  /** What linking a number to the app it is already linked to answers; default 'conflict' (409). */
  sameAppLink?: SameAppLink;
  /** The clock for link timestamps; default the real one. */
  now?: () => Date;
  /** Serve the `/__stand-in/*` control API (stats, state, behaviours, reset); default false. */
  control?: boolean;
  /** Persistent behaviour of every route at start and after reset(); default `{ kind: 'ok' }`. */
  defaultBehaviour?: StandInBehaviour;
  /** Keep only the most recent N recorded requests; default unlimited. */
  maxRecordedRequests?: number;
}

const MISSING_KEY = 'UnAuthorized, Please Provide API Key';
const INVALID_KEY = 'UnAuthorized, Please Provide Valid API Key';
const WRONG_SHAPE = JSON.stringify({ data: { numbers: [] }, message: 'success' });
const HTML_PAGE =
  '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>';
/** Express's default JSON limit, which Superfone most likely keeps. */
const LINK_BODY_LIMIT = 100 * 1024;

interface Waiter {
  route: StandInRoute;
  n: number;
  settle(error?: Error): void;
}

/**
 * A faithful `node:http` stand-in for Superfone's numbers and apps endpoints (superfone-api.md
 * §2–3), with the org's numbers, apps and links in memory, that can be scripted to fail per route.
 */
export class SuperfoneStandIn {
  private readonly apiKey: string;
  private readonly control: boolean;
  private readonly initialNumbers: StandInNumber[];
  private readonly initialApps: StandInApp[];
  private readonly initialSameAppLink: SameAppLink;
  private readonly maxRecorded: number;
  private readonly state: OrgState;
  private readonly behaviours: RouteBehaviours;
  private counts = new Map<StandInRoute, number>();
  private recorded: RecordedRequest[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiters = new Set<Waiter>();

  constructor(options: StandInOptions) {
    this.apiKey = options.apiKey;
    this.control = options.control ?? false;
    this.initialNumbers = copyAll(options.numbers ?? demoNumbers());
    this.initialApps = copyAll(options.apps ?? demoApps());
    this.initialSameAppLink = options.sameAppLink ?? 'conflict';
    this.behaviours = new RouteBehaviours(options.defaultBehaviour ?? { kind: 'ok' });
    this.maxRecorded = options.maxRecordedRequests ?? Infinity;
    this.state = new OrgState(options.now ?? (() => new Date()));
    this.restoreState();
  }

  /** The org's numbers not linked to any app: what available-numbers returns (replace or edit freely). */
  get numbers(): StandInNumber[] {
    return this.state.numbers;
  }
  set numbers(numbers: StandInNumber[]) {
    this.state.numbers = numbers;
  }

  /** The org's apps (replace or edit freely). */
  get apps(): StandInApp[] {
    return this.state.apps;
  }
  set apps(apps: StandInApp[]) {
    this.state.apps = apps;
  }

  /** What a link of a number to the app that already holds it answers. */
  get sameAppLink(): SameAppLink {
    return this.state.sameAppLink;
  }
  set sameAppLink(value: SameAppLink) {
    this.state.sameAppLink = value;
  }

  /** Count of GET /superfone/sfvopi/available-numbers requests, whatever the answer (auth failures included). */
  get calls(): number {
    return this.callsTo('available-numbers');
  }

  /** Count of requests to one route, whatever the answer (auth failures included). */
  callsTo(route: StandInRoute): number {
    return this.counts.get(route) ?? 0;
  }

  /** Every request received (any path), oldest first. */
  get requests(): RecordedRequest[] {
    return [...this.recorded];
  }

  /** Copies of the links of one app, oldest first. */
  linksOf(appId: string): StandInLink[] {
    return this.state.linksOf(appId);
  }

  /** The app a number is linked to, if any. */
  appOf(voipNumber: string): string | undefined {
    return this.state.appOf(voipNumber);
  }

  /** Links a number as POST …/numbers would, without a request (to arrange a test); returns its answer. */
  link(appId: string, voipNumber: string): Answer {
    return this.state.link(appId, voipNumber);
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
          `SuperfoneStandIn stopped while waiting for ${waiter.n} calls (saw ${this.callsTo(waiter.route)})`,
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
    this.setBehaviourFor('available-numbers', behaviour);
  }

  /** Queues one-shot behaviours, consumed in order by authenticated available-numbers calls. */
  enqueue(...behaviours: StandInBehaviour[]): void {
    this.enqueueFor('available-numbers', ...behaviours);
  }

  /** Sets the persistent behaviour of one route. */
  setBehaviourFor(route: StandInRoute, behaviour: StandInBehaviour): void {
    this.behaviours.set(route, behaviour);
  }

  /** Queues one-shot behaviours for one route, consumed in order by its authenticated calls. */
  enqueueFor(route: StandInRoute, ...behaviours: StandInBehaviour[]): void {
    this.behaviours.enqueue(route, behaviours);
  }

  /**
   * Zeroes every counter, clears recorded requests and queues, restores the default behaviour of
   * every route, and the constructor's numbers and apps with no links.
   */
  reset(): void {
    this.counts = new Map();
    this.recorded = [];
    this.behaviours.clear();
    this.restoreState();
  }

  /** Resolves once `calls >= n` (available-numbers); rejects after `timeoutMs` (default 5000) or on stop(). */
  waitForCalls(n: number, timeoutMs = 5000): Promise<void> {
    return this.waitForCallsTo('available-numbers', n, timeoutMs);
  }

  /** Resolves once `callsTo(route) >= n`; rejects after `timeoutMs` (default 5000) or on stop(). */
  waitForCallsTo(route: StandInRoute, n: number, timeoutMs = 5000): Promise<void> {
    if (this.callsTo(route) >= n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        route,
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
            `SuperfoneStandIn.waitForCalls: expected at least ${n} calls to ${ROUTE_LABELS[route]} ` +
              `within ${timeoutMs} ms, saw ${this.callsTo(route)}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private restoreState(): void {
    this.state.restore(
      copyAll(this.initialNumbers),
      copyAll(this.initialApps),
      this.initialSameAppLink,
    );
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const target = req.url ?? '/';
    const path = target.split('?', 1)[0];
    const matched = matchRoute(req.method ?? '', path);
    const recorded = this.record(req, target, matched?.route);
    if (matched) {
      this.serveRoute(req, res, matched, recorded);
    } else if (this.control && path.startsWith(CONTROL_PREFIX)) {
      serveControl(this, req, res, path);
    } else {
      sendJson(res, 404, { message: 'Not Found' });
    }
  }

  private record(
    req: IncomingMessage,
    target: string,
    route: StandInRoute | undefined,
  ): RecordedRequest {
    const entry: RecordedRequest = {
      method: req.method ?? '',
      path: target,
      headers: { ...req.headers },
      at: Date.now(),
      ...(route && { route }),
    };
    if (this.maxRecorded <= 0) return entry;
    this.recorded.push(entry);
    if (this.recorded.length > this.maxRecorded)
      this.recorded.splice(0, this.recorded.length - this.maxRecorded);
    return entry;
  }

  private count(route: StandInRoute): void {
    this.counts.set(route, this.callsTo(route) + 1);
    for (const waiter of this.waiters)
      if (waiter.route === route && this.callsTo(route) >= waiter.n) waiter.settle();
  }

  private serveRoute(
    req: IncomingMessage,
    res: ServerResponse,
    matched: Matched,
    recorded: RecordedRequest,
  ): void {
    this.count(matched.route);
    const header = req.headers['x-api-key'];
    const presented = Array.isArray(header) ? header.join(', ') : (header ?? '');
    if (presented.trim() === '') {
      sendJson(res, 401, { message: MISSING_KEY });
      return;
    }
    if (presented !== this.apiKey) {
      sendJson(res, 401, { message: INVALID_KEY });
      return;
    }
    // Chosen on arrival, so one-shot behaviours go to requests in the order they came.
    const behaviour = this.behaviours.next(matched.route);
    if (behaviour.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    const apply = performs(behaviour);
    if (matched.route !== 'link') {
      this.act(req, res, matched.route, behaviour, apply ? this.perform(matched) : undefined);
      return;
    }
    void readBody(req, LINK_BODY_LIMIT).then(
      (body) => {
        recorded.body = body;
        const answer = apply ? this.performLink(req, matched.appId, body) : undefined;
        this.act(req, res, 'link', behaviour, answer);
      },
      () => undefined, // the client went away mid-body: nothing arrived, nothing to apply
    );
  }

  private perform({ route, appId, voipNumber }: Matched): Answer {
    if (route === 'available-numbers') return this.state.availableNumbers();
    if (route === 'list-apps') return this.state.listApps();
    if (route === 'list-app-numbers') return this.state.listAppNumbers(appId);
    return this.state.unlink(appId, voipNumber);
  }

  private performLink(req: IncomingMessage, appId: string, body: string | undefined): Answer {
    if (body === undefined) return failure(413, 'request entity too large');
    const requested = requestedNumber(req, body);
    return requested === undefined
      ? failure(400, MESSAGES.invalidBody)
      : this.state.link(appId, requested);
  }

  private act(
    req: IncomingMessage,
    res: ServerResponse,
    route: StandInRoute,
    behaviour: StandInBehaviour,
    answer: Answer | undefined,
  ): void {
    const json = answer ? JSON.stringify(answer.body) : '';
    const status = answer?.status ?? 200;
    switch (behaviour.kind) {
      case 'ok':
        this.later(behaviour.delayMs, () => {
          send(res, status, json);
        });
        return;
      case 'status': {
        const { status: scripted, body, contentType, headers, delayMs } = behaviour;
        this.later(delayMs, () => {
          send(res, scripted, body ?? defaultStatusBody(route, scripted), contentType, headers);
        });
        return;
      }
      case 'hang':
      case 'hang-after-apply':
        return; // the socket stays open until the client gives up or stop() destroys it
      case 'reset':
      case 'reset-after-apply':
        req.socket.destroy();
        return;
      case 'non-json':
        send(res, status, HTML_PAGE, 'text/html; charset=utf-8');
        return;
      case 'truncated': {
        const full = Buffer.from(json);
        send(res, status, full.subarray(0, Math.floor(full.length / 2)));
        return;
      }
      case 'wrong-shape':
        send(res, status, WRONG_SHAPE);
        return;
    }
  }

  private later(delayMs: number | undefined, answer: () => void): void {
    if (!this.server) return; // stopped while a body was arriving: its socket is gone
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
}

function copyAll<T extends object>(items: T[]): T[] {
  return items.map((item) => ({ ...item }));
}
