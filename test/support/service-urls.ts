/**
 * Origins of the service instances a test file started (startHarness registers them); the
 * contract check (contract.setup.ts) looks at answers from these only. Kept on globalThis so the
 * setup file and the suites share it whatever module instance each loads.
 */
const registry = globalThis as typeof globalThis & { superfoneBffServiceUrls?: Set<string> };

export const serviceUrls: Set<string> = (registry.superfoneBffServiceUrls ??= new Set<string>());
