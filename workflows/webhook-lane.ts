/**
 * A webhook lane: one trial's deliveries to one endpoint, sent one at a time and in order,
 * so a later change never arrives before an earlier one that is still being retried.
 * (Unordered endpoints, the tester's sends and operational events get a lane each.)
 * Each delivery is attempted on its endpoint's schedule until delivered, refused for good,
 * or the schedule ends; each attempt is an activity that records itself, and the waits are
 * durable timers, so a delivery survives worker and server restarts with the same webhook-id.
 * The lane ends when its queue is empty; the next delivery starts it again (signal-with-start).
 */
import { continueAsNew, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../src/temporal/activities.ts';
import { delayBefore } from '../src/modules/webhooks/retry-policy.ts';
import { enqueueDeliveriesSignal, type WebhookLaneInput } from './webhook-lane.messages.ts';

const { attemptWebhookDelivery, markWebhookDeliveryExhausted } = proxyActivities<ReturnType<typeof createActivities>>({
  // An attempt is bounded by the endpoint's timeout (at most 30 s) plus DNS and the record.
  startToCloseTimeout: '60 seconds',
  // The attempt heartbeats every second: a worker that died mid-attempt is known within 5 s.
  heartbeatTimeout: '5 seconds',
  // Only our own failures (database down) retry here; the endpoint's answers are outcomes.
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/** The lane's queue: ids in arrival order, each taken once. */
class DeliveryQueue {
  readonly #pending: string[];
  constructor(ids: string[]) {
    this.#pending = [...new Set(ids)];
  }
  add(ids: string[]): void {
    for (const id of ids) if (!this.#pending.includes(id)) this.#pending.push(id);
  }
  get head(): string | undefined {
    return this.#pending[0];
  }
  remove(id: string): void {
    this.#pending.splice(this.#pending.indexOf(id), 1);
  }
  get pending(): string[] {
    return [...this.#pending];
  }
}

/** One delivery, to the end of its schedule; returns its final outcome. */
async function deliver(deliveryId: string): Promise<string> {
  for (;;) {
    const result = await attemptWebhookDelivery(deliveryId);
    if (result.outcome !== 'retry') return result.outcome;
    // Math.random is the SDK's deterministic replacement inside workflows.
    const delay = delayBefore(result.attemptCount + 1, result.retrySchedule, Math.random(), result.retryAfterMs);
    if (delay === null) {
      await markWebhookDeliveryExhausted(deliveryId);
      return 'exhausted';
    }
    await sleep(delay);
  }
}

export async function webhookLane({ deliveryIds }: WebhookLaneInput): Promise<void> {
  const queue = new DeliveryQueue(deliveryIds);
  setHandler(enqueueDeliveriesSignal, (ids) => queue.add(ids));
  for (let id = queue.head; id !== undefined; id = queue.head) {
    await deliver(id);
    queue.remove(id);
    if (workflowInfo().continueAsNewSuggested && queue.head !== undefined) {
      await continueAsNew<typeof webhookLane>({ deliveryIds: queue.pending });
    }
  }
}
