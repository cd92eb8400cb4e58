import { z } from 'zod';

/**
 * The service's JSON bodies as the e2e suites read them: each reader parses the body and checks
 * its shape, so a test gets a typed value or fails naming what did not match (never `any`).
 * Objects are loose where the service may add fields, strict where the contract is exact.
 */

/** The body as JSON, checked against `schema`. */
export async function readJson<T>(res: Response, schema: z.ZodType<T>): Promise<T> {
  return parseJson(await res.text(), schema, `${res.status} ${res.url}`);
}

/** `text` as JSON, checked against `schema`; `what` names the text in the failure. */
export function parseJson<T>(text: string, schema: z.ZodType<T>, what = 'JSON'): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not JSON: ${text.slice(0, 200)}`, { cause: error });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new Error(
      `${what} is not the expected shape:\n${z.prettifyError(parsed.error)}\n${text.slice(0, 500)}`,
    );
  return parsed.data;
}

/** One health indicator (`{ status: 'up', ...details }`). */
const indicator = z.looseObject({ status: z.string() });
const indicators = z.record(z.string(), indicator);

/** One number as the service hands it out. */
const availableNumber = z.strictObject({
  id: z.number(),
  voipNumber: z.string(),
  provider: z.string(),
  status: z.string(),
});

/** 200 of GET /numbers/available: exactly the normalized list and its metadata. */
export const numbersBody = z.strictObject({
  data: z.array(availableNumber),
  meta: z.strictObject({ count: z.number(), fetchedAt: z.string() }),
});
export type NumbersBody = z.infer<typeof numbersBody>;

/** An RFC 9457 problem (application/problem+json), with the extensions the service adds. */
export const problemBody = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number(),
  detail: z.string(),
  instance: z.string(),
  code: z.string(),
  requestId: z.string(),
  traceId: z.string().optional(),
  /** NOT_READY: the health indicators that failed and passed. */
  checks: indicators.optional(),
});
export type ProblemBody = z.infer<typeof problemBody>;

/** 200 of the /health/* routes (Terminus' report). */
export const healthBody = z.looseObject({
  status: z.string(),
  info: indicators.optional(),
  error: indicators.optional(),
  details: indicators,
});
export type HealthBody = z.infer<typeof healthBody>;

/** The shared copy as the service stores it in Redis (Keyv's envelope around the list). */
export const cachedCopy = z.looseObject({
  value: z.strictObject({ fetchedAt: z.string(), data: z.array(availableNumber) }),
});
export type CachedCopy = z.infer<typeof cachedCopy>;

/** One pino log line. */
export const logLine = z.looseObject({ level: z.number(), msg: z.string().optional() });
export type LogLine = z.infer<typeof logLine>;

export const readNumbers = (res: Response): Promise<NumbersBody> => readJson(res, numbersBody);
export const readProblem = (res: Response): Promise<ProblemBody> => readJson(res, problemBody);
export const readHealth = (res: Response): Promise<HealthBody> => readJson(res, healthBody);
export const parseLogLine = (line: string): LogLine => parseJson(line, logLine, 'log line');
export const parseCachedCopy = (text: string): CachedCopy =>
  parseJson(text, cachedCopy, 'the copy in Redis');
/** Every line of a log, parsed. */
export const parseLogLines = (lines: readonly string[]): LogLine[] => lines.map(parseLogLine);
