import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  isStandInRoute,
  parseBehaviours,
  STAND_IN_ROUTES,
  type StandInBehaviour,
  type StandInRoute,
} from './stand-in-behaviour';
import { noContent, readBody, sendJson } from './stand-in-http';
import type { StandInApp, StandInLink, StandInNumber } from './stand-in-state';

export const CONTROL_PREFIX = '/__stand-in/';
const CONTROL_BODY_LIMIT = 64 * 1024;

/** What the control API drives: the stand-in itself. */
export interface ControlTarget {
  readonly calls: number;
  readonly numbers: StandInNumber[];
  readonly apps: StandInApp[];
  callsTo(route: StandInRoute): number;
  linksOf(appId: string): StandInLink[];
  setBehaviourFor(route: StandInRoute, behaviour: StandInBehaviour): void;
  enqueueFor(route: StandInRoute, ...behaviours: StandInBehaviour[]): void;
  reset(): void;
}

/**
 * The `/__stand-in/` API for a stand-in in another process (docker-compose, demo, benchmarks):
 * - `GET stats`: `{calls, routes: {<route>: n}}` (`calls` counts available-numbers, as before);
 * - `GET state`: `{numbers, apps, links: {<app_id>: [link…]}}`;
 * - `POST reset`;
 * - `POST behaviour` or `POST behaviour/<route>`: the persistent behaviour (one object);
 * - `POST enqueue` or `POST enqueue/<route>`: one-shot behaviours (an object or an array).
 * Without a route, available-numbers is meant. Routes: {@link STAND_IN_ROUTES}.
 */
export function serveControl(
  target: ControlTarget,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): void {
  const [action, route = 'available-numbers', ...rest] = path
    .slice(CONTROL_PREFIX.length)
    .split('/');
  const known = rest.length === 0 && isStandInRoute(route);
  if (req.method === 'GET' && path === `${CONTROL_PREFIX}stats`) {
    const routes = Object.fromEntries(STAND_IN_ROUTES.map((r) => [r, target.callsTo(r)]));
    sendJson(res, 200, { calls: target.calls, routes });
  } else if (req.method === 'GET' && path === `${CONTROL_PREFIX}state`) {
    const links = Object.fromEntries(target.apps.map((a) => [a.app_id, target.linksOf(a.app_id)]));
    sendJson(res, 200, { numbers: target.numbers, apps: target.apps, links });
  } else if (req.method === 'POST' && path === `${CONTROL_PREFIX}reset`) {
    target.reset();
    noContent(res);
  } else if (req.method === 'POST' && known && (action === 'behaviour' || action === 'enqueue')) {
    const list = action === 'enqueue';
    void readBehaviours(req, res, list).then((behaviours) => {
      if (!behaviours) return;
      if (list) target.enqueueFor(route, ...behaviours);
      else target.setBehaviourFor(route, behaviours[0]);
      noContent(res);
    });
  } else {
    sendJson(res, 404, { message: 'Not Found' });
  }
}

/** The behaviours in the body, or undefined once an error was answered. */
async function readBehaviours(
  req: IncomingMessage,
  res: ServerResponse,
  list: boolean,
): Promise<StandInBehaviour[] | undefined> {
  let text: string | undefined;
  try {
    text = await readBody(req, CONTROL_BODY_LIMIT);
  } catch {
    return undefined; // the client went away mid-body
  }
  if (text === undefined) {
    sendJson(res, 413, { message: 'Body too large' });
    return undefined;
  }
  const parsed = parseBehaviours(text, list);
  if (typeof parsed === 'string') {
    sendJson(res, 400, { message: parsed });
    return undefined;
  }
  return parsed;
}
