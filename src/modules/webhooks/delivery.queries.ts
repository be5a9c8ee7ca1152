/** Read-side queries of deliveries, each for many subjects at once (the API batches per request). */
import type { EntityManager } from '@mikro-orm/postgresql';
import { DeliveryAttempt, WebhookDelivery, type IDeliveryAttempt, type IWebhookDelivery } from './webhook-delivery.entity.ts';

export type DeliveryCounts = Record<'pending' | 'delivered' | 'failed' | 'held_out', number>;

/** Each trial's deliveries by status, in one grouped query. */
export async function deliveryCountsByTrial(em: EntityManager, trialIds: string[]): Promise<Map<string, DeliveryCounts>> {
  const rows: Array<{ trial_id: string; status: keyof DeliveryCounts; count: number }> = await em.execute(
    `select trial_id, status, count(*)::int as count from webhook_deliveries
      where trial_id in (select jsonb_array_elements_text(cast(? as jsonb))) group by trial_id, status`,
    [JSON.stringify(trialIds)],
  );
  const counts = new Map<string, DeliveryCounts>(trialIds.map((id) => [id, { pending: 0, delivered: 0, failed: 0, held_out: 0 }]));
  for (const row of rows) counts.get(row.trial_id)![row.status] = row.count;
  return counts;
}

/** Each delivery's attempts, oldest first, in one query. */
export async function attemptsByDelivery(em: EntityManager, deliveryIds: string[]): Promise<Map<string, IDeliveryAttempt[]>> {
  const attempts = await em.find(DeliveryAttempt, { delivery: { id: { $in: deliveryIds } } }, { orderBy: { attemptedAt: 'asc', id: 'asc' } });
  const byDelivery = new Map<string, IDeliveryAttempt[]>(deliveryIds.map((id) => [id, []]));
  for (const attempt of attempts) byDelivery.get(attempt.delivery.id)!.push(attempt);
  return byDelivery;
}

/** The deliveries each segment change caused (one per endpoint), oldest first, in one query. */
export async function deliveriesByChange(em: EntityManager, changeIds: string[]): Promise<Map<string, IWebhookDelivery[]>> {
  const rows = await em.find(WebhookDelivery, { segmentChangeId: { $in: changeIds } }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  const byChange = new Map<string, IWebhookDelivery[]>(changeIds.map((id) => [id, []]));
  for (const row of rows) byChange.get(row.segmentChangeId!)?.push(row);
  return byChange;
}
