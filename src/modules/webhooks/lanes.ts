/**
 * Handing deliveries to Temporal: a delivery that must be retried (or wait behind an earlier
 * one of its trial) joins a lane, a `webhookLane` workflow that sends its deliveries one at a
 * time, in order, on the endpoint's schedule.
 */
import type { Client } from '@temporalio/client';
import { enqueueDeliveriesSignal, type LaneItem } from '../../core/webhook-lane.messages.ts';
import type { DeliveryView } from './webhook-delivery.entity.ts';

/** A delivery to be handed to a lane. */
export interface Dispatchable {
  id: string;
  endpointId: string;
  trialId: string | null;
  ordered: boolean;
  /** Epoch ms before which the lane does not attempt it (its retry schedule's next step). */
  notBefore?: number;
  /** notBefore is a slot the endpoint's throttle reserved for it (throttle.ts). */
  slotHeld?: boolean;
}

export const dispatchable = (delivery: DeliveryView): Dispatchable => ({
  id: delivery.id,
  endpointId: delivery.endpoint.id,
  trialId: delivery.trialId ?? null,
  ordered: delivery.endpoint.ordered,
});

/**
 * The lane a delivery waits in: one trial's deliveries to one endpoint go through one lane,
 * in order; everything else (unordered endpoints, tests, operational events) gets its own.
 */
export function laneIdFor(delivery: Dispatchable): string {
  return delivery.ordered && delivery.trialId ? `webhooks:${delivery.endpointId}:${delivery.trialId}` : `delivery:${delivery.id}`;
}

/**
 * Hands deliveries to their lanes (signal-with-start: the lane is started if it is not
 * running). Order within a lane is the order given here. Idempotent: a lane skips
 * deliveries that are no longer pending.
 */
export async function dispatchDeliveries(temporal: Client, taskQueue: string, deliveries: Dispatchable[]): Promise<void> {
  const lanes = new Map<string, LaneItem[]>();
  for (const delivery of deliveries) {
    const item: LaneItem = { id: delivery.id };
    if (delivery.notBefore !== undefined) item.notBefore = delivery.notBefore;
    if (delivery.slotHeld) item.slotHeld = true;
    lanes.set(laneIdFor(delivery), [...(lanes.get(laneIdFor(delivery)) ?? []), item]);
  }
  await Promise.all(
    [...lanes].map(([workflowId, items]) =>
      temporal.workflow.signalWithStart('webhookLane', { workflowId, taskQueue, args: [{ items: [] }], signal: enqueueDeliveriesSignal, signalArgs: [items] }),
    ),
  );
}
