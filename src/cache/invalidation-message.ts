/**
 * The wire format of the invalidation bus: the generation kept in Redis, the message each change
 * publishes, and the script that does both in one step.
 */

/** A message is a few resource names: anything longer is not one of ours, and is not parsed. */
const MAX_MESSAGE_LENGTH = 16 * 1024;
const MAX_RESOURCES = 100;
const MAX_RESOURCE_LENGTH = 256;

/**
 * A generation: the number of changes announced in an era. An era starts whenever the generation
 * key is missing (Redis lost its data, or it never had one), so that a counter that starts again
 * is never taken for the one a replica heard last.
 */
export interface Generation {
  /** null: no generation key (nothing announced since Redis was empty). */
  readonly era: string | null;
  readonly n: number;
}

/** The generation key's value: `<era>:<n>`. */
const STORED_GENERATION = /^([A-Za-z0-9-]{1,64}):(\d{1,15})$/;

/**
 * Counts the change and publishes it in one step, so that messages go out in generation order
 * and none is published without being counted. Only GET, SET and PUBLISH: what an ACL user of
 * the service already has, plus PUBLISH. ARGV[1]: the channel; ARGV[2]: the message after its
 * generation (`,"resources":[…],"origin":"…"}`); ARGV[3]: the era to start when there is none.
 */
export const ANNOUNCE_SCRIPT = `
local stored = redis.call('GET', KEYS[1])
local era, n = nil, 0
if stored then
  local e, c = string.match(stored, '^([%w-]+):(%d+)$')
  if e and #e <= 64 and #c <= 15 then era, n = e, tonumber(c) end
end
if not era then era = ARGV[3] end
n = n + 1
local generation = string.format('%d', n)
redis.call('SET', KEYS[1], era .. ':' .. generation)
redis.call('PUBLISH', ARGV[1], '{"era":"' .. era .. '","generation":' .. generation .. ARGV[2])
return n`;

export interface Announcement {
  readonly era: string;
  readonly generation: number;
  readonly resources: readonly string[];
  readonly origin: string;
}

/** True when `heard` includes every change up to `target`. */
export function covers(heard: Generation | undefined, target: Generation): boolean {
  return heard !== undefined && heard.era === target.era && heard.n >= target.n;
}

/** The generation key's value; undefined when it holds something else. */
export function parseGeneration(stored: string | null): Generation | undefined {
  if (stored === null) return { era: null, n: 0 };
  const match = STORED_GENERATION.exec(stored);
  return match ? { era: match[1], n: Number(match[2]) } : undefined;
}

/** The announcement in `text`, or why it is not one. */
export function parseAnnouncement(text: string): Announcement | string {
  if (text.length > MAX_MESSAGE_LENGTH) return `longer than ${MAX_MESSAGE_LENGTH} characters`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null) return 'not an object';
  const { era, generation, resources, origin } = value as Record<string, unknown>;
  if (typeof era !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(era)) return 'era is not an id';
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 1)
    return 'generation is not a positive integer';
  if (typeof origin !== 'string' || origin === '') return 'origin is not a string';
  if (
    !Array.isArray(resources) ||
    resources.length === 0 ||
    resources.length > MAX_RESOURCES ||
    !resources.every(
      (r): r is string => typeof r === 'string' && r !== '' && r.length <= MAX_RESOURCE_LENGTH,
    )
  )
    return `resources is not a list of 1 to ${MAX_RESOURCES} names`;
  return { era, generation, resources, origin };
}
