/**
 * An endpoint's health after an attempt, decided in one pure function: a run of failures
 * starts at the first failed attempt and ends at the next success (the tester's sends count
 * neither way); 410 Gone (or what a destination says means the same), or failing every delivery
 * for `disableAfter`, disables it.
 */
import { parseIsoDuration } from '../../core/durations.ts';
import type { Outcome } from '../../core/retry-policy.ts';

export interface EndpointHealth {
  enabled: boolean;
  failingSince?: Date | null;
  disableAfter: string;
}

export interface HealthAfterAttempt {
  failingSince: Date | null;
  /** Why the endpoint is disabled now; null when it stays as it was. */
  disabledBecause: string | null;
}

/** `answerDisables`: why the answer itself disables the endpoint (410 Gone, Slack's channel gone), if it does. */
export function healthAfterAttempt(
  endpoint: EndpointHealth,
  eventType: string,
  outcome: Outcome,
  attemptedAt: Date,
  answerDisables: string | null = outcome === 'gone' ? 'the endpoint answered 410 Gone' : null,
): HealthAfterAttempt {
  const failingSince = eventType === 'webhook.test' ? (endpoint.failingSince ?? null) : outcome === 'delivered' ? null : (endpoint.failingSince ?? attemptedAt);
  if (!endpoint.enabled) return { failingSince, disabledBecause: null };
  if (answerDisables) return { failingSince, disabledBecause: answerDisables };
  const limit = parseIsoDuration(endpoint.disableAfter);
  const tooLong = failingSince !== null && limit !== null && attemptedAt.getTime() - failingSince.getTime() >= limit;
  return { failingSince, disabledBecause: tooLong ? `every delivery failed for ${endpoint.disableAfter} (since ${failingSince.toISOString()})` : null };
}
