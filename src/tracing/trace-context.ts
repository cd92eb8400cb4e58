import { randomBytes } from 'node:crypto';

/** A W3C Trace Context (https://www.w3.org/TR/trace-context/) as far as this service needs it. */
export interface TraceContext {
  readonly traceId: string;
  /** This service's span: the parent-id it hands on to Superfone. */
  readonly spanId: string;
  readonly flags: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * Continues the caller's trace when its `traceparent` is valid (version 00, non-zero ids), else
 * starts a new one. Either way this request gets a span id of its own.
 */
export function traceFor(traceparent: string | string[] | undefined): TraceContext {
  const match = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent.trim()) : null;
  const spanId = randomBytes(8).toString('hex');
  if (match && match[1] !== ZERO_TRACE && match[2] !== ZERO_SPAN) return { traceId: match[1], spanId, flags: match[3] };
  return { traceId: randomBytes(16).toString('hex'), spanId, flags: '01' };
}

/** The `traceparent` header for a call this span makes. */
export function traceparentOf(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.flags}`;
}
