import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * The API contract as company apps see it: every answer the service gives an e2e suite is checked
 * against the committed openapi.json (status, content type, body schema, required headers). An
 * answer the document does not describe is a failure of the test that received it.
 */

const DOCUMENT_ID = 'openapi.json';
const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'] as const;

const mediaTypes = z.record(z.string(), z.looseObject({ schema: z.unknown().optional() }));
const responseSpec = z.looseObject({
  content: mediaTypes.optional(),
  headers: z.record(z.string(), z.looseObject({ required: z.boolean().optional() })).optional(),
});
const operationSpec = z.looseObject({ responses: z.record(z.string(), responseSpec) });
const documentSpec = z.looseObject({
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
});

type ResponseSpec = z.infer<typeof responseSpec>;

interface Route {
  readonly template: string;
  readonly pattern: RegExp;
  readonly operations: ReadonlyMap<string, z.infer<typeof operationSpec>>;
}

/** Paths the service serves outside its API document: its Swagger UI and Prometheus scrape. */
const OUTSIDE_THE_DOCUMENT = /^\/(metrics|docs|docs-json|docs\/.*)$/;

export interface ServiceAnswer {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

export class Contract {
  private readonly routes: Route[];
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly problemValidator: ValidateFunction;

  constructor(raw: unknown) {
    addFormats(this.ajv);
    this.ajv.addSchema(raw as object, DOCUMENT_ID);
    const document = documentSpec.parse(raw);
    this.routes = Object.entries(document.paths).map(([template, item]) => ({
      template,
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      operations: new Map(
        METHODS.filter((m) => item[m] !== undefined).map((m) => [m, operationSpec.parse(item[m])]),
      ),
    }));
    this.problemValidator = this.ajv.compile({
      $ref: `${DOCUMENT_ID}#/components/schemas/Problem`,
    });
  }

  /** What is wrong with `answer` by the document; empty when it keeps the contract. */
  check(answer: ServiceAnswer): string[] {
    const path = new URL(answer.url).pathname;
    const method = answer.method.toLowerCase();
    const route = this.routes.find((r) => r.pattern.test(path));
    const operation = route?.operations.get(method);
    if (!route || !operation) return this.checkUnrouted(answer, route !== undefined);
    const status = String(answer.status);
    const documented = Object.hasOwn(operation.responses, status) ? status : 'default';
    if (!Object.hasOwn(operation.responses, documented))
      return [`${status} is not a documented answer`];
    const spec = operation.responses[documented];
    const pointer = `#/paths/${escape(route.template)}/${method}/responses/${documented}`;
    return [
      ...this.checkHeaders(answer, spec),
      ...this.checkBody(answer, spec, pointer, method === 'head'),
    ];
  }

  /** True when the path is served but deliberately kept out of the API document. */
  static outside(url: string): boolean {
    return OUTSIDE_THE_DOCUMENT.test(new URL(url).pathname);
  }

  /** A path or method the document does not have: only a problem refusing it keeps the contract. */
  private checkUnrouted(answer: ServiceAnswer, knownPath: boolean): string[] {
    const allowed = knownPath ? [404, 405] : [400, 404];
    if (answer.method === 'OPTIONS' && answer.status === 204) return []; // a CORS preflight
    const errors = allowed.includes(answer.status)
      ? []
      : [`${answer.status} on a ${knownPath ? 'method' : 'path'} the document does not have`];
    if (answer.method === 'HEAD') return errors;
    return [...errors, ...this.checkProblem(answer)];
  }

  private checkProblem(answer: ServiceAnswer): string[] {
    if (mediaType(answer.headers) !== 'application/problem+json')
      return [`content-type ${answer.headers.get('content-type') ?? 'none'} is not a problem`];
    return validate(this.problemValidator, answer.body);
  }

  private checkHeaders(answer: ServiceAnswer, spec: ResponseSpec): string[] {
    return Object.entries(spec.headers ?? {})
      .filter(([name, header]) => header.required === true && !answer.headers.has(name))
      .map(([name]) => `required header ${name} is missing`);
  }

  private checkBody(
    answer: ServiceAnswer,
    spec: ResponseSpec,
    pointer: string,
    head: boolean,
  ): string[] {
    const content = spec.content ?? {};
    if (head || Object.keys(content).length === 0)
      return answer.body === '' ? [] : ['a body where the document has none'];
    const type = mediaType(answer.headers);
    if (type === undefined || !(type in content))
      return [`content-type ${type ?? 'none'} is not one of ${Object.keys(content).join(', ')}`];
    if (content[type].schema === undefined) return [];
    const key = `${pointer}/content/${escape(type)}/schema`;
    let validator = this.validators.get(key);
    if (!validator) {
      validator = this.ajv.compile({ $ref: `${DOCUMENT_ID}${key}` });
      this.validators.set(key, validator);
    }
    return validate(validator, answer.body);
  }
}

function validate(validator: ValidateFunction, body: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return [`the body is not JSON: ${body.slice(0, 80)}`];
  }
  if (validator(value)) return [];
  return (validator.errors ?? []).map((e) => `body${e.instancePath} ${e.message ?? 'is invalid'}`);
}

function mediaType(headers: Headers): string | undefined {
  return headers.get('content-type')?.split(';', 1)[0].trim().toLowerCase();
}

/** A JSON Pointer segment (RFC 6901). */
function escape(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

let loaded: Contract | undefined;

/** The committed document, loaded once per test file. */
export function contract(): Contract {
  loaded ??= new Contract(
    JSON.parse(readFileSync(join(__dirname, '..', '..', DOCUMENT_ID), 'utf8')),
  );
  return loaded;
}
