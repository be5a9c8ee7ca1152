/**
 * A webhook lane holds the deliveries that need Temporal: those whose first attempt failed
 * (most first attempts succeed straight from the lifecycle workflow's sendFirstAttempts and
 * never get here), redeliveries, and operational events.
 * One trial's deliveries to one endpoint share a lane, sent one at a time and in order,
 * so a later change never arrives before an earlier one that is still being retried.
 * (Unordered endpoints, the tester's sends and operational events get a lane each.)
 * Each delivery is attempted on its endpoint's schedule until delivered, refused for good,
 * or the schedule ends; each attempt is an activity that records itself, and the waits are
 * durable timers, so a delivery survives worker and server restarts with the same webhook-id.
 * The lane ends when its queue is empty; the next delivery starts it again (signal-with-start).
 */
import { continueAsNew, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../src/temporal/activities.ts';
import { delayBefore } from '../src/core/retry-policy.ts';
import { enqueueDeliveriesSignal, type LaneItem, type WebhookLaneInput } from '../src/core/webhook-lane.messages.ts';

const { attemptWebhookDelivery, markWebhookDeliveryExhausted } = proxyActivities<ReturnType<typeof createActivities>>({
  // An attempt is bounded by the endpoint's timeout (at most 30 s) plus DNS and the record.
  startToCloseTimeout: '60 seconds',
  // The attempt heartbeats every second: a worker that died mid-attempt is known within 5 s.
  heartbeatTimeout: '5 seconds',
  // Only our own failures (database down) retry here; the endpoint's answers are outcomes.
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/** The lane's queue: deliveries in arrival order, each held once. */
class DeliveryQueue {
  readonly #pending: LaneItem[] = [];
  constructor(items: LaneItem[]) {
    this.add(items);
  }
  add(items: LaneItem[]): void {
    for (const item of items) if (!this.#pending.some((held) => held.id === item.id)) this.#pending.push(item);
  }
  get head(): LaneItem | undefined {
    return this.#pending[0];
  }
  remove(item: LaneItem): void {
    this.#pending.splice(this.#pending.indexOf(item), 1);
  }
  get pending(): LaneItem[] {
    return [...this.#pending];
  }
}

/** One delivery, to the end of its schedule; returns its final outcome. */
async function deliver({ id: deliveryId, notBefore, slotHeld: held }: LaneItem): Promise<string> {
  // A delivery whose first attempt failed (or was throttled) outside the lane waits for its next scheduled one.
  if (notBefore !== undefined && notBefore > Date.now()) await sleep(notBefore - Date.now());
  for (let slotHeld = held ?? false; ; slotHeld = false) {
    let result = await attemptWebhookDelivery(deliveryId, slotHeld);
    // The endpoint's throttle gave it a later slot: wait for it, then go (throttle.ts).
    while (result.outcome === 'throttled') {
      await sleep(Math.max(1, result.sendAt! - Date.now()));
      result = await attemptWebhookDelivery(deliveryId, true);
    }
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

export async function webhookLane({ items }: WebhookLaneInput): Promise<void> {
  const queue = new DeliveryQueue(items);
  setHandler(enqueueDeliveriesSignal, (added) => queue.add(added));
  for (let item = queue.head; item !== undefined; item = queue.head) {
    await deliver(item);
    queue.remove(item);
    if (workflowInfo().continueAsNewSuggested && queue.head !== undefined) {
      await continueAsNew<typeof webhookLane>({ items: queue.pending });
    }
  }
}
