/**
 * One webhook delivery: attempts on the endpoint's schedule until delivered, refused for
 * good, or the schedule ends. Each attempt is an activity that records itself; the waits
 * are durable timers, so a delivery survives worker and server restarts with the same webhook-id.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { createActivities } from '../src/temporal/activities.ts';
import { delayBefore } from '../src/modules/webhooks/retry-policy.ts';

const { attemptWebhookDelivery, markWebhookDeliveryFailed } = proxyActivities<ReturnType<typeof createActivities>>({
  // An attempt is bounded by the endpoint's timeout (at most 30 s) plus DNS and the record.
  startToCloseTimeout: '60 seconds',
  // Only our own failures (database down) retry here; the endpoint's answers are outcomes.
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export interface DeliverWebhookInput {
  deliveryId: string;
}

export async function deliverWebhook({ deliveryId }: DeliverWebhookInput): Promise<string> {
  for (;;) {
    const result = await attemptWebhookDelivery(deliveryId);
    if (result.outcome !== 'retry') return result.outcome;
    // Math.random is the SDK's deterministic replacement inside workflows.
    const delay = delayBefore(result.attemptCount + 1, result.retrySchedule, Math.random(), result.retryAfterMs);
    if (delay === null) {
      await markWebhookDeliveryFailed(deliveryId);
      return 'exhausted';
    }
    await sleep(delay);
  }
}
