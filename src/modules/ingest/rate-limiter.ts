/**
 * Per-app token buckets, in memory per API process: `ratePerSecond` events a second with
 * bursts up to two seconds' worth. Counts events, not requests, so a batch of 500 costs 500.
 * With several API processes each allows the rate; the limit is a guard, not a bill.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * Null when allowed (and taken); otherwise the seconds to wait, for Retry-After. A request
   * larger than the burst costs one full bucket, so it waits for a full bucket, not for ever.
   */
  take(key: string, requested: number, ratePerSecond: number): number | null {
    const now = this.#now();
    const capacity = ratePerSecond * 2;
    const cost = Math.min(requested, capacity);
    const bucket = this.#buckets.get(key) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * ratePerSecond);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (cost <= bucket.tokens) {
      bucket.tokens -= cost;
      return null;
    }
    return Math.max(1, Math.ceil((cost - bucket.tokens) / ratePerSecond));
  }
}
