/**
 * A change's pending deliveries with their endpoints, read in one query for its first
 * attempts (the ORM's joined populate cost several times the CPU of the query itself), each
 * with whether an earlier change of its trial still waits for the same endpoint.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { WebhookDelivery, type IWebhookDelivery } from './webhook-delivery.entity.ts';
import { WebhookEndpoint } from './webhook-endpoint.entity.ts';

export interface PendingDelivery {
  delivery: IWebhookDelivery;
  /** An earlier change of the same trial has a delivery to this endpoint still pending (in its lane). */
  behindEarlier: boolean;
}

export async function pendingDeliveriesOfChange(em: EntityManager, changeId: string): Promise<PendingDelivery[]> {
  const rows: Array<Record<string, unknown> & { endpoint_row: Record<string, unknown>; behind_earlier: boolean }> = await em.execute(
    `select d.*, to_jsonb(e) as endpoint_row,
            exists (select 1 from webhook_deliveries earlier
                    where earlier.trial_id = d.trial_id and earlier.endpoint_id = d.endpoint_id
                      and earlier.status = 'pending' and earlier.sequence < d.sequence) as behind_earlier
     from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id
     where d.segment_change_id = ? and d.status = 'pending'`,
    [changeId],
  );
  return rows.map(({ endpoint_row: endpointRow, behind_earlier: behindEarlier, ...deliveryRow }) => {
    // The endpoint first: the delivery's reference to it then resolves to this loaded entity.
    em.map(WebhookEndpoint, endpointRow);
    return { delivery: em.map(WebhookDelivery, deliveryRow), behindEarlier };
  });
}
