/** The webhook lane's signal, shared by the workflow and the code that hands it deliveries. */
import { defineSignal } from '@temporalio/workflow';

/**
 * A delivery for the lane; `notBefore` (epoch ms) when its next attempt is scheduled later;
 * `slotHeld` when that time is a slot its endpoint's throttle gave it.
 */
export interface LaneItem {
  id: string;
  notBefore?: number;
  slotHeld?: boolean;
}

/** Deliveries to send after those already queued, in the order given. */
export const enqueueDeliveriesSignal = defineSignal<[LaneItem[]]>('enqueueDeliveries');

export interface WebhookLaneInput {
  /** Deliveries carried over a continue-as-new. */
  items: LaneItem[];
}
