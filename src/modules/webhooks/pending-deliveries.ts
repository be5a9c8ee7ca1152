/**
 * A change's pending deliveries with their endpoints, for its first attempts: as the change's
 * recording returned them (segment-change-recording.ts), or read in one query (the ORM's joined
 * populate cost several times the CPU of the query itself), each with whether an earlier change
 * of its trial still waits for the same endpoint.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../../infra/bound-statement.ts';
import { prepareStatement } from '../../infra/prepared-statements.ts';
import { WebhookDelivery, type IWebhookDelivery } from './webhook-delivery.entity.ts';
import { WebhookEndpoint } from './webhook-endpoint.entity.ts';

export interface PendingDelivery {
  delivery: IWebhookDelivery;
  /** An earlier change of the same trial has a delivery to this endpoint still pending (in its lane). */
  behindEarlier: boolean;
}

/** A pending delivery as a row: the delivery's and its endpoint's rows as JSON objects (to_jsonb). */
export interface PendingDeliveryRow {
  delivery_row: Record<string, unknown>;
  endpoint_row: Record<string, unknown>;
  behind_earlier: boolean;
}

/** SQL: whether an earlier change of the delivery `d`'s trial still has a delivery to its endpoint pending. */
export const behindEarlierSql = (d: string) =>
  `exists (select 1 from webhook_deliveries earlier
           where earlier.trial_id = ${d}.trial_id and earlier.endpoint_id = ${d}.endpoint_id
             and earlier.status = 'pending' and earlier.sequence < ${d}.sequence)`;

/** Rows as JSON objects: the statement stays prepared across migrations that add columns. */
const PENDING_OF_CHANGE = prepareStatement(`
select to_jsonb(d) as delivery_row, to_jsonb(e) as endpoint_row, ${behindEarlierSql('d')} as behind_earlier
from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id
where d.segment_change_id = $1 and d.status = 'pending'`);

export async function pendingDeliveriesOfChange(em: EntityManager, changeId: string): Promise<PendingDelivery[]> {
  return pendingDeliveriesFrom(em, await executeBound<PendingDeliveryRow>(em, PENDING_OF_CHANGE, [changeId]));
}

/** The rows as entities of this entity manager. */
export function pendingDeliveriesFrom(em: EntityManager, rows: readonly PendingDeliveryRow[]): PendingDelivery[] {
  return rows.map(({ delivery_row: deliveryRow, endpoint_row: endpointRow, behind_earlier: behindEarlier }) => {
    // The endpoint first: the delivery's reference to it then resolves to this loaded entity.
    em.map(WebhookEndpoint, endpointRow);
    return { delivery: em.map(WebhookDelivery, deliveryRow), behindEarlier };
  });
}
