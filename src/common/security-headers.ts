import helmet from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The security headers for one kind of answer. */
export type SecurityHeaders = Readonly<Record<string, string>>;

/**
 * Helmet's headers suited to a JSON API, computed once at boot. They depend only on the options, so running helmet's
 * middleware on every request (as @fastify/helmet does, re-parsing the CSP each time) buys nothing.
 * API answers get the CSP OWASP recommends for JSON (nothing may load or frame it); only the
 * Swagger UI pages under /docs get one that lets their own scripts, styles and images load.
 */
export function securityHeaders(): {
  readonly api: SecurityHeaders;
  readonly docs: SecurityHeaders;
} {
  return {
    api: helmetHeaders({
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    }),
    docs: helmetHeaders({
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
      },
    }),
  };
}

type CspOptions = Exclude<
  NonNullable<Parameters<typeof helmet>[0]>['contentSecurityPolicy'],
  boolean | undefined
>;

function helmetHeaders(contentSecurityPolicy: CspOptions): SecurityHeaders {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string) => (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => delete headers[name.toLowerCase()],
  } as unknown as ServerResponse;
  const middleware = helmet({
    // Headers that only mean something to an HTML page or to long-gone browsers are left out: this
    // is a JSON API, and every header is paid for on every answer.
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
    contentSecurityPolicy,
  });
  middleware({} as IncomingMessage, response, (error?: unknown) => {
    if (error) throw error;
  });
  return Object.freeze(headers);
}
