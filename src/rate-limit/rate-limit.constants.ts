/** Rate limits count requests in fixed windows of one minute (RATE_LIMIT_PER_MINUTE). */
export const RATE_LIMIT_WINDOW_MS = 60_000;
