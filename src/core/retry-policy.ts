/**
 * What an attempt's outcome means and when to try again. Pure.
 * Only 2xx is success; 410 Gone disables the endpoint; 4xx other than 408/429 are final;
 * timeouts, connection errors, 3xx (redirects are not followed), 408, 429 and 5xx are retried.
 */
import { parseIsoDuration } from './durations.ts';

/** Standard Webhooks' schedule: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (about 3 days). */
export const DEFAULT_RETRY_SCHEDULE = ['PT0S', 'PT5S', 'PT5M', 'PT30M', 'PT2H', 'PT5H', 'PT10H', 'PT14H', 'PT20H', 'PT24H'];

export type Outcome = 'delivered' | 'retry' | 'final' | 'gone';

export function classify(statusCode: number | null): Outcome {
  if (statusCode === null) return 'retry';
  if (statusCode >= 200 && statusCode < 300) return 'delivered';
  if (statusCode === 410) return 'gone';
  if (statusCode === 408 || statusCode === 429 || statusCode >= 500 || (statusCode >= 300 && statusCode < 400)) return 'retry';
  return 'final';
}

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now: number): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

/**
 * Delay before attempt number `next` (1-based; attempt 1 is immediate), with ±10 % jitter so
 * an endpoint coming back is not hit by every delivery at once; Retry-After wins when longer,
 * but never past the schedule's end (the rest of its steps): a receiver asking for a day
 * does not stretch a delivery's window. Null when the schedule is exhausted.
 */
export function delayBefore(next: number, schedule: string[], random: number, retryAfter: number | null): number | null {
  const step = schedule[next - 1];
  if (step === undefined) return null;
  const base = parseIsoDuration(step) ?? 0;
  const jittered = Math.round(base * (0.9 + 0.2 * random));
  const windowLeft = schedule.slice(next - 1).reduce((sum, rest) => sum + (parseIsoDuration(rest) ?? 0), 0);
  return Math.max(jittered, Math.min(retryAfter ?? 0, windowLeft));
}
