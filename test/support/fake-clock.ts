/**
 * A Redis command deadline as Jest's fake clock sees it. RedisGate gives its verdict after the
 * event loop's next I/O poll (a setImmediate set when the deadline's timer fires), and the fake
 * clock runs an immediate set during a tick 1 ms later; on a real loop it is the same millisecond.
 */
export function fakeClockDeadline(timeoutMs: number): number {
  return timeoutMs + 1;
}
