/**
 * Deliveries are planned inside the transaction that records their subject (a transition, an
 * operational event, a test): one row per (endpoint, event type), inserted in one statement,
 * idempotent on the delivery id.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { Trial } from '../trials/trial.entity.ts';
import { changeEventBody, eventIdOf, eventTypesFor, wantsEvent, type ChangeFacts } from './catalog.ts';
import { deliveryIdFor } from './delivery-id.ts';
import type { Dispatchable } from './lanes.ts';
import { WebhookDelivery } from './webhook-delivery.entity.ts';
import { WebhookEndpoint } from './webhook-endpoint.entity.ts';

export interface DeliveryRow {
  id: string;
  endpointId: string;
  eventType: string;
  body: string;
  segmentChangeId?: string | null;
  trialId?: string | null;
  sequence?: number | null;
}

/** One INSERT for all of them; a row whose id exists already is left as it is. */
export async function insertDeliveries(em: EntityManager, rows: DeliveryRow[]): Promise<void> {
  if (rows.length === 0) return;
  const createdAt = new Date();
  await em
    .createQueryBuilder(WebhookDelivery)
    .insert(
      rows.map(({ endpointId, ...row }) => ({
        segmentChangeId: null,
        trialId: null,
        sequence: null,
        ...row,
        endpoint: endpointId,
        status: 'pending' as const,
        attemptCount: 0,
        createdAt,
      })),
    )
    .onConflict('id')
    .ignore()
    .execute('run');
}

/**
 * A transition's deliveries: one per (enabled endpoint, wanted event type). Idempotent;
 * returns them whether they were made now or before.
 */
export async function planDeliveries(em: EntityManager, change: ChangeFacts): Promise<Dispatchable[]> {
  const endpoints = await em.find(WebhookEndpoint, { app: change.appId, enabled: true });
  if (endpoints.length === 0) return [];
  const trial = await em.findOneOrFail(Trial, { id: change.trialId });
  const planned = endpoints.flatMap((endpoint) =>
    eventTypesFor(change)
      .filter((type) => wantsEvent(endpoint, type))
      .map((eventType) => {
        const id = deliveryIdFor(change.id, endpoint.id, eventType);
        return {
          endpoint,
          row: {
            id,
            endpointId: endpoint.id,
            eventType,
            body: changeEventBody(eventType, change, trial, eventIdOf(id)),
            segmentChangeId: change.id,
            trialId: change.trialId,
            sequence: change.sequence,
          },
        };
      }),
  );
  await insertDeliveries(
    em,
    planned.map(({ row }) => row),
  );
  return planned.map(({ endpoint, row }) => ({ id: row.id, endpointId: endpoint.id, trialId: change.trialId, ordered: endpoint.ordered }));
}
