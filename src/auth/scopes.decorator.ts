import { SetMetadata } from '@nestjs/common';
import type { Scope } from '../config/client-keys';

export const REQUIRED_SCOPE = Symbol('REQUIRED_SCOPE');

/** Marks a route as needing a client key with this scope; ClientKeyGuard enforces it. */
export const RequireScope = (scope: Scope) => SetMetadata(REQUIRED_SCOPE, scope);
