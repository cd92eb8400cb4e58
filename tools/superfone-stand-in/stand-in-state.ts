/** One entry of Superfone's available-numbers list, as the upstream spells it. */
export interface StandInNumber {
  id: number;
  voip_number: string;
  provider: string;
  status: string;
}

/** An SFVoPI app object as Superfone spells it (superfone-api.md §3). */
export interface StandInApp {
  app_id: string;
  org_id: number;
  name: string;
  answer_url: string;
  answer_method: 'POST' | 'GET';
  hangup_url: string | null;
  hangup_method: 'POST' | 'GET';
  fallback_answer_url: string | null;
  fallback_answer_method: 'POST' | 'GET';
  status: 'ACTIVE' | 'INACTIVE';
  created_by: number | null;
  created_at: string;
  updated_at: string | null;
}

/** A number linked to an app, as Superfone spells it (superfone-api.md §2.2). */
export interface StandInLink {
  app_id: string;
  voip_number: string;
  org_id: number;
  status: 'ACTIVE';
  created_at: string;
  updated_at: null;
}

/**
 * What a link of a number already linked to the same app answers. Superfone does not document it
 * (superfone-api.md §5 q4); its one check ("linked to an app?") most likely makes it the 409.
 */
export type SameAppLink = 'conflict' | 'ok';

/** A status and a JSON body, before any fault garbles it. */
export interface Answer {
  status: number;
  body: unknown;
}

export const ORG_ID = 1001;
export const MESSAGES = {
  invalidBody: 'Invalid request body',
  notOwned: 'VoIP number not found or does not belong to this org',
  appNotFoundOnLink: 'SFVoPI app not found',
  appNotFound: 'App not found',
  notLinked: 'Number not linked to this app',
  alreadyLinked: 'VoIP number is already linked to another SFVoPI app',
} as const;

interface LinkRecord {
  link: StandInLink;
  /** The available-numbers entry it came from, given back on unlink. */
  number: StandInNumber;
}

/**
 * The org's numbers and apps in memory. Every operation runs to completion synchronously, so two
 * requests can never interleave inside one: of two links of one number, the first to arrive wins.
 */
export class OrgState {
  /** The org's numbers that no app uses (what available-numbers returns). */
  numbers: StandInNumber[] = [];
  apps: StandInApp[] = [];
  sameAppLink: SameAppLink = 'conflict';
  private readonly linked = new Map<string, LinkRecord>();

  constructor(private readonly now: () => Date) {}

  /** Drops every link and starts again from these numbers and apps. */
  restore(numbers: StandInNumber[], apps: StandInApp[], sameAppLink: SameAppLink): void {
    this.linked.clear();
    this.numbers = numbers;
    this.apps = apps;
    this.sameAppLink = sameAppLink;
  }

  availableNumbers(): Answer {
    return success(this.numbers);
  }

  /** Newest first, as documented. */
  listApps(): Answer {
    return success(
      [...this.apps].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at)),
    );
  }

  listAppNumbers(appId: string): Answer {
    if (!this.hasApp(appId)) return failure(404, MESSAGES.appNotFound);
    return success(this.linksOf(appId));
  }

  /** Checks in this order: the number's format, the app, who holds the number, ownership. */
  link(appId: string, voipNumber: string): Answer {
    const number = normalizeNumber(voipNumber);
    if (!number) return failure(400, MESSAGES.invalidBody);
    if (!this.hasApp(appId)) return failure(404, MESSAGES.appNotFoundOnLink);
    const held = this.linked.get(number);
    if (held) {
      if (held.link.app_id === appId && this.sameAppLink === 'ok') return success(held.link);
      return failure(409, MESSAGES.alreadyLinked);
    }
    const index = this.numbers.findIndex((n) => n.voip_number === number);
    if (index < 0) return failure(400, MESSAGES.notOwned);
    const [entry] = this.numbers.splice(index, 1);
    const link: StandInLink = {
      app_id: appId,
      voip_number: number,
      org_id: ORG_ID,
      status: 'ACTIVE',
      created_at: this.now().toISOString(),
      updated_at: null,
    };
    this.linked.set(number, { link, number: entry });
    return success(link);
  }

  /** The number goes back to the end of `numbers` with its id, provider and status. */
  unlink(appId: string, voipNumber: string): Answer {
    if (!this.hasApp(appId)) return failure(404, MESSAGES.appNotFound);
    const number = normalizeNumber(voipNumber);
    const held = number === undefined ? undefined : this.linked.get(number);
    if (!held || held.link.app_id !== appId) return failure(404, MESSAGES.notLinked);
    this.linked.delete(held.link.voip_number);
    this.numbers.push(held.number);
    return success({ deleted: true });
  }

  /** Copies of the links of one app, oldest first. */
  linksOf(appId: string): StandInLink[] {
    return [...this.linked.values()]
      .filter((r) => r.link.app_id === appId)
      .map((r) => ({ ...r.link }));
  }

  /** The app a number is linked to, if any. */
  appOf(voipNumber: string): string | undefined {
    const number = normalizeNumber(voipNumber);
    return number === undefined ? undefined : this.linked.get(number)?.link.app_id;
  }

  private hasApp(appId: string): boolean {
    return this.apps.some((a) => a.app_id === appId);
  }
}

/**
 * E.164 as Superfone normalizes it ("with a country code"): spaces, dashes and brackets dropped,
 * a bare 10-digit Indian number gets +91. Anything else is not a phone number.
 */
export function normalizeNumber(raw: string): string | undefined {
  const compact = raw.replace(/[\s\-()]/g, '');
  if (/^\+[1-9]\d{6,14}$/.test(compact)) return compact;
  if (/^[6-9]\d{9}$/.test(compact)) return `+91${compact}`;
  return undefined;
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

/** Two deterministic ACTIVE apps, `sfv_app_demo00000001` (older) and `sfv_app_demo00000002`. */
export function demoApps(): StandInApp[] {
  return [
    demoApp('sfv_app_demo00000001', 'Support line', '2026-01-05T09:00:00.000Z'),
    demoApp('sfv_app_demo00000002', 'Sales line', '2026-01-12T09:30:00.000Z'),
  ];
}

function demoApp(appId: string, name: string, createdAt: string): StandInApp {
  return {
    app_id: appId,
    org_id: ORG_ID,
    name,
    answer_url: `https://example.com/sfvopi/${appId}/answer`,
    answer_method: 'POST',
    hangup_url: null,
    hangup_method: 'POST',
    fallback_answer_url: null,
    fallback_answer_method: 'POST',
    status: 'ACTIVE',
    created_by: 1,
    created_at: createdAt,
    updated_at: null,
  };
}

export function success(data: unknown): Answer {
  return { status: 200, body: { data, message: 'success' } };
}

export function failure(status: number, message: string): Answer {
  return { status, body: { message } };
}
