/** The security headers for one kind of answer. */
export type SecurityHeaders = Readonly<Record<string, string>>;

/**
 * Headers every answer carries, whatever it is. What helmet's defaults set, minus the ones that only
 * mean something to an HTML page or a long-gone browser (X-XSS-Protection, X-DNS-Prefetch-Control,
 * X-Download-Options, X-Permitted-Cross-Domain-Policies, Origin-Agent-Cluster,
 * Cross-Origin-Opener-Policy): every header is paid for on every answer.
 */
const COMMON: SecurityHeaders = {
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  // What frame-ancestors 'none' says (OWASP's REST cheat sheet, below, asks for both), for browsers
  // too old to read frame-ancestors; the others obey it instead of this header. SAMEORIGIN would
  // let a same-origin page frame us in those browsers.
  'x-frame-options': 'DENY',
};

/**
 * The CSP OWASP recommends for a JSON API: nothing may load from an answer or frame it.
 * https://cheatsheetseries.owasp.org/cheatsheets/REST_Security_Cheat_Sheet.html
 */
const API_CSP = "default-src 'none';frame-ancestors 'none'";

/**
 * Swagger UI's page under /docs: its own scripts, styles (it sets some inline), images (some are
 * data: URIs in its CSS) and its fetch of /docs-json; base-uri and form-action, which default-src
 * does not cover, stay same-origin. No upgrade-insecure-requests: the page's URLs are all relative,
 * so over HTTPS it changes nothing, and over plain HTTP (a local run, an in-cluster address) it
 * would send every asset to an https:// port that is not there (helmetjs/helmet#480).
 */
const DOCS_CSP =
  "default-src 'none';script-src 'self';style-src 'self' 'unsafe-inline';img-src 'self' data:;" +
  "connect-src 'self';base-uri 'self';form-action 'self';frame-ancestors 'none'";

/**
 * The security headers API answers and the /docs pages carry, constant for the process's life, so
 * they are written as they are on every answer (no per-request middleware).
 */
export const SECURITY_HEADERS: { readonly api: SecurityHeaders; readonly docs: SecurityHeaders } =
  Object.freeze({
    api: Object.freeze({ 'content-security-policy': API_CSP, ...COMMON }),
    docs: Object.freeze({ 'content-security-policy': DOCS_CSP, ...COMMON }),
  });
