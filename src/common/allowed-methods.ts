import type { FastifyInstance, HTTPMethods } from 'fastify';

const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * The methods some route serves at `path` (none: the path itself is unknown). For 405 + Allow.
 * findRoute looks the path up as a request would (`/apps/x/numbers` finds `/apps/:appId/numbers`);
 * hasRoute would compare it with the route patterns and miss every route with a parameter.
 */
export function allowedMethods(fastify: FastifyInstance, path: string): string[] {
  return METHODS.filter((method) => {
    // Typed as always finding a route; at run time it answers null when none matches.
    const found: unknown = fastify.findRoute({ url: path, method });
    return found !== null;
  });
}
