/** Sending deliveries again, with their bodies and webhook-ids, on their endpoint's schedule. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { FieldError } from '../../core/field-error.ts';
import type { DeliveryDeps } from './delivery-deps.ts';
import { dispatchable, dispatchDeliveries } from './lanes.ts';
import { WebhookDelivery, type IWebhookDelivery } from './webhook-delivery.entity.ts';
import type { IWebhookEndpoint } from './webhook-endpoint.entity.ts';

/** Redeliveries are handed over this many at a time (each lane keeps its own order). */
export const REDELIVER_LIMIT = 10_000;

export async function redeliver(
  deps: DeliveryDeps,
  em: EntityManager,
  delivery: IWebhookDelivery,
): Promise<{ delivery?: IWebhookDelivery; errors: FieldError[] }> {
  if (!delivery.endpoint.enabled) return { errors: [{ field: 'deliveryId', message: 'its endpoint is disabled; enable it first', code: 'DISABLED' }] };
  // Sending it would spoil the experiment that held it out.
  if (delivery.status === 'held_out') return { errors: [{ field: 'deliveryId', message: 'held out by a holdout: it is never sent', code: 'HELD_OUT' }] };
  delivery.status = 'pending';
  await em.flush();
  await dispatchDeliveries(deps.temporal, deps.taskQueue, [dispatchable(delivery)]);
  return { delivery, errors: [] };
}

/** Replays an outage: every failed delivery of the endpoint since a time, oldest first. */
export async function redeliverFailed(
  deps: DeliveryDeps,
  em: EntityManager,
  endpoint: IWebhookEndpoint,
  since: Date,
): Promise<{ count: number; errors: FieldError[] }> {
  if (!endpoint.enabled) return { count: 0, errors: [{ field: 'endpointId', message: 'the endpoint is disabled; enable it first', code: 'DISABLED' }] };
  const failed = await em.find(
    WebhookDelivery,
    { endpoint, status: 'failed', createdAt: { $gte: since } },
    { orderBy: { createdAt: 'asc', sequence: 'asc' }, limit: REDELIVER_LIMIT },
  );
  if (failed.length === 0) return { count: 0, errors: [] };
  await em.nativeUpdate(WebhookDelivery, { id: { $in: failed.map((delivery) => delivery.id) } }, { status: 'pending' });
  await dispatchDeliveries(deps.temporal, deps.taskQueue, failed.map(dispatchable));
  return { count: failed.length, errors: [] };
}
