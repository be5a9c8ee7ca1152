import { createHash } from 'node:crypto';

/**
 * The delivery's id, which is also its `webhook-id`: the same subject, endpoint and event type
 * give the same id, whoever computes it and however often (activity retries, replays).
 */
export function deliveryIdFor(subjectId: string, endpointId: string, eventType: string): string {
  return `msg_${createHash('sha256').update(`${subjectId}|${endpointId}|${eventType}`).digest('hex').slice(0, 26)}`;
}
