/**
 * Capped exponential backoff with full jitter: replicas that lost the same race spread out
 * instead of colliding again (10 ms × 2ⁿ like cert-controller, capped at `capMs`).
 */
export function backoffMs(attempt: number, baseMs = 10, capMs = 2_000): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** attempt);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
