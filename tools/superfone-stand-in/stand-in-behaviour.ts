/** The upstream routes the stand-in serves, each with its own behaviours and call counter. */
export const STAND_IN_ROUTES = [
  'available-numbers',
  'list-apps',
  'list-app-numbers',
  'link',
  'unlink',
] as const;

export type StandInRoute = (typeof STAND_IN_ROUTES)[number];

/**
 * How the stand-in answers an authenticated request to one route. State is read or changed when
 * the request arrives (for a POST: once its body is in); `delayMs` only delays the answer.
 * Kinds that answer 200 (ok, non-json, truncated, wrong-shape) and the `-after-apply` kinds apply
 * a link or unlink; status (unless `apply`), hang and reset leave the state alone.
 */
export type StandInBehaviour =
  | { kind: 'ok'; delayMs?: number }
  | {
      kind: 'status';
      status: number;
      body?: string;
      contentType?: string;
      headers?: Record<string, string>;
      delayMs?: number;
      /** Apply the change first, as a gateway that times out after the backend committed it. */
      apply?: boolean;
    }
  | { kind: 'hang' }
  | { kind: 'hang-after-apply' }
  | { kind: 'reset' }
  | { kind: 'reset-after-apply' }
  | { kind: 'non-json' }
  | { kind: 'truncated' }
  | { kind: 'wrong-shape' };

const KINDS: ReadonlySet<string> = new Set<StandInBehaviour['kind']>([
  'ok',
  'status',
  'hang',
  'hang-after-apply',
  'reset',
  'reset-after-apply',
  'non-json',
  'truncated',
  'wrong-shape',
]);

export function isStandInRoute(value: string): value is StandInRoute {
  return (STAND_IN_ROUTES as readonly string[]).includes(value);
}

/** True when the behaviour reads or changes the state (every kind but status without apply, hang and reset). */
export function performs(behaviour: StandInBehaviour): boolean {
  if (behaviour.kind === 'status') return behaviour.apply === true;
  return behaviour.kind !== 'hang' && behaviour.kind !== 'reset';
}

/** A persistent behaviour and a queue of one-shot ones, per route. */
export class RouteBehaviours {
  private readonly persistent = new Map<StandInRoute, StandInBehaviour>();
  private readonly queues = new Map<StandInRoute, StandInBehaviour[]>();

  constructor(private readonly fallback: StandInBehaviour) {}

  set(route: StandInRoute, behaviour: StandInBehaviour): void {
    this.persistent.set(route, behaviour);
  }

  enqueue(route: StandInRoute, behaviours: StandInBehaviour[]): void {
    this.queues.set(route, [...(this.queues.get(route) ?? []), ...behaviours]);
  }

  /** The next queued behaviour for `route` (consumed), else its persistent one. */
  next(route: StandInRoute): StandInBehaviour {
    return this.queues.get(route)?.shift() ?? this.persistent.get(route) ?? this.fallback;
  }

  clear(): void {
    this.persistent.clear();
    this.queues.clear();
  }
}

/**
 * Parses a control-API body: one behaviour, or (with `list`) a non-empty JSON array of them too.
 * Returns an error message when it is not valid.
 */
export function parseBehaviours(text: string, list: boolean): StandInBehaviour[] | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'Body must be JSON';
  }
  if (!(list && Array.isArray(value))) {
    const one = checkBehaviour(value);
    return typeof one === 'string' ? one : [one];
  }
  if (value.length === 0) return 'Body must not be an empty array';
  const behaviours: StandInBehaviour[] = [];
  for (const item of value as unknown[]) {
    const checked = checkBehaviour(item);
    if (typeof checked === 'string') return checked;
    behaviours.push(checked);
  }
  return behaviours;
}

function checkBehaviour(value: unknown): StandInBehaviour | string {
  if (!isRecord(value)) return 'Body must be a JSON object';
  const { kind, delayMs, status, body, contentType, headers, apply } = value;
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
    if (apply !== undefined && typeof apply !== 'boolean') return 'apply must be a boolean';
  }
  return value as StandInBehaviour;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
