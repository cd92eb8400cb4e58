import type * as NestSwagger from '@nestjs/swagger';
import type { ApiOperationOptions, ApiResponseOptions } from '@nestjs/swagger';

/**
 * @nestjs/swagger's decorators, recorded when a class is defined and applied only when the OpenAPI
 * document is first built (the first GET /docs-json). Loading @nestjs/swagger and its dependencies
 * costs about 8 MiB of resident memory per process; a replica that never serves its document never
 * pays it. The decorators only attach metadata that SwaggerModule.createDocument reads, so applying
 * them late, in their original order, gives the same document.
 */
export type Swagger = typeof NestSwagger;

type AnyDecorator = (
  target: object,
  key?: string | symbol,
  descriptor?: PropertyDescriptor,
) => unknown;

const recorded: ((swagger: Swagger) => void)[] = [];
let loaded: Swagger | undefined;
let loading: Promise<Swagger> | undefined;

/** A decorator that applies `make(swagger)`'s decorator once @nestjs/swagger is loaded. */
export function deferred(
  make: (swagger: Swagger) => ClassDecorator | MethodDecorator,
): ClassDecorator & MethodDecorator {
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const apply = (swagger: Swagger): void =>
      void (make(swagger) as AnyDecorator)(target, key, descriptor);
    if (loaded) apply(loaded);
    else recorded.push(apply);
  };
}

/** Loads @nestjs/swagger (once) and applies every decorator recorded so far. */
export function loadSwagger(): Promise<Swagger> {
  loading ??= import('@nestjs/swagger').then((swagger) => {
    loaded = swagger;
    for (const apply of recorded.splice(0)) apply(swagger);
    return swagger;
  });
  return loading;
}

export const ApiTags = (...tags: string[]) => deferred((s) => s.ApiTags(...tags));
export const ApiOperation = (options: ApiOperationOptions) =>
  deferred((s) => s.ApiOperation(options));
export const ApiResponse = (options: ApiResponseOptions) => deferred((s) => s.ApiResponse(options));
export const ApiExcludeController = () => deferred((s) => s.ApiExcludeController());
