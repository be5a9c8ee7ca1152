import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../src/modules/ingest/rate-limiter.ts';

describe('RateLimiter', () => {
  it('allows bursts of two seconds of rate, then asks to wait, then refills with time', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    expect(limiter.take('app', 150, 100)).toBeNull();
    expect(limiter.take('app', 50, 100)).toBeNull();
    expect(limiter.take('app', 10, 100)).toBe(1);
    now += 500;
    expect(limiter.take('app', 50, 100)).toBeNull();
    expect(limiter.take('app', 1, 100)).toBe(1);
    expect(limiter.take('other', 200, 100)).toBeNull();
  });

  it('a request larger than the burst costs a full bucket: allowed when full, else wait until full', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    expect(limiter.take('app', 1000, 100)).toBeNull();
    expect(limiter.take('app', 1000, 100)).toBe(2);
    now += 2000;
    expect(limiter.take('app', 1000, 100)).toBeNull();
  });
});
