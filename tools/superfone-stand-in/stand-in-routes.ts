import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { isRecord, type StandInRoute } from './stand-in-behaviour';

/** A request to one of the upstream routes, with its decoded path parameters ('' when absent). */
export interface Matched {
  route: StandInRoute;
  appId: string;
  voipNumber: string;
}

export const PREFIX = '/superfone';
const SFVOPI = `${PREFIX}/sfvopi/`;

/** Each route as Superfone documents it, for messages. */
export const ROUTE_LABELS: Record<StandInRoute, string> = {
  'available-numbers': `GET ${SFVOPI}available-numbers`,
  'list-apps': `GET ${SFVOPI}apps`,
  'list-app-numbers': `GET ${SFVOPI}apps/:app_id/numbers`,
  link: `POST ${SFVOPI}apps/:app_id/numbers`,
  unlink: `DELETE ${SFVOPI}apps/:app_id/numbers/:voip_number`,
};

const FAILED_TO: Record<StandInRoute, string> = {
  'available-numbers': 'Failed to get available numbers',
  'list-apps': 'Failed to get SFVoPI apps',
  'list-app-numbers': 'Failed to get numbers',
  link: 'Failed to link number',
  unlink: 'Failed to unlink number',
};

/** The upstream route of a request, or undefined (a 404 that counts as no call). */
export function matchRoute(method: string, path: string): Matched | undefined {
  if (!path.startsWith(SFVOPI)) return undefined;
  let segments: string[];
  try {
    segments = path.slice(SFVOPI.length).split('/').map(decodeURIComponent);
  } catch {
    return undefined; // malformed percent-encoding
  }
  if (segments.some((s) => s === '')) return undefined;
  const shape = segments.map((s, i) => (i === 1 ? ':app_id' : i === 3 ? ':voip_number' : s));
  const route = ROUTE_SHAPES.get(`${method} ${shape.join('/')}`);
  return route && { route, appId: segments[1] ?? '', voipNumber: segments[3] ?? '' };
}

const ROUTE_SHAPES = new Map<string, StandInRoute>([
  ['GET available-numbers', 'available-numbers'],
  ['GET apps', 'list-apps'],
  ['GET apps/:app_id/numbers', 'list-app-numbers'],
  ['POST apps/:app_id/numbers', 'link'],
  ['DELETE apps/:app_id/numbers/:voip_number', 'unlink'],
]);

/** `voip_number` of a JSON body; Express ignores a body of another type, so it reads as missing. */
export function requestedNumber(req: IncomingMessage, body: string): string | undefined {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    const voipNumber = isRecord(parsed) ? parsed.voip_number : undefined;
    return typeof voipNumber === 'string' ? voipNumber : undefined;
  } catch {
    return undefined;
  }
}

export function defaultStatusBody(route: StandInRoute, status: number): string {
  const message =
    status === 500 ? `${FAILED_TO[route]}: stand-in failure` : (STATUS_CODES[status] ?? 'Error');
  return JSON.stringify({ message });
}
