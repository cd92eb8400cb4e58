/** autocannon ships no types: this is the slice of its API bench/load.ts uses. */
declare module 'autocannon' {
  export interface AutocannonResult {
    duration: number;
    errors: number;
    timeouts: number;
    statusCodeStats: Record<string, { count: number }>;
    requests: { total: number };
    throughput: { total: number };
  }

  export interface AutocannonInstance {
    on(
      event: 'response',
      listener: (client: unknown, status: number, bytes: number, ms: number) => void,
    ): void;
  }

  function autocannon(
    options: Record<string, unknown>,
    done: (error: Error | null, result: AutocannonResult) => void,
  ): AutocannonInstance;
  export = autocannon;
}
