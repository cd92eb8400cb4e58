/**
 * Where Swagger UI (`/docs/`) and the OpenAPI document (`/docs-json`) are served. A leaf of its
 * own: the OpenAPI setup serves there and the request hygiene gives it the docs security headers.
 */
export const DOCS_PATH = 'docs';
