/** The webhook lane's signal, shared by the workflow and the code that hands it deliveries. */
import { defineSignal } from '@temporalio/workflow';

/** Delivery ids to send after those already queued, in the order given. */
export const enqueueDeliveriesSignal = defineSignal<[string[]]>('enqueueDeliveries');

export interface WebhookLaneInput {
  /** Deliveries carried over a continue-as-new. */
  deliveryIds: string[];
}
