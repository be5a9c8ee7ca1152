/**
 * Deliveries are planned inside the transaction that records their subject (a transition, an
 * operational event, a test): one row per (endpoint, event type), inserted in one statement,
 * idempotent on the delivery id.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../../infra/bound-statement.ts';
import { prepareStatement } from '../../infra/prepared-statements.ts';
import { changeEventBody, eventIdOf, eventTypesFor, wantsEvent, type ChangeFacts, type TrialFacts } from './catalog.ts';
import { deliveryIdFor } from './delivery-id.ts';
import { WebhookDelivery } from './webhook-delivery.entity.ts';

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

/** What a transition's deliveries are made of: the trial's facts and the app's enabled endpoints. */
export interface ChangeSubject {
  trial: TrialFacts;
  endpoints: Array<{ id: string; eventTypes: string[] }>;
}

/** A trial's facts for its webhooks and its app's enabled endpoints (read for every transition). */
const CHANGE_SUBJECT = prepareStatement(`
select t.user_id, t.email, t.stripe_customer_id, t.trial_start, t.trial_end,
       coalesce((select json_agg(json_build_object('id', e.id, 'eventTypes', e.event_types) order by e.id)
                 from webhook_endpoints e where e.app_id = t.app_id and e.enabled), '[]') as endpoints
from trials t where t.id = $1`);

/** The trial and its app's enabled endpoints, in one query (nothing to plan without endpoints). */
export async function loadChangeSubject(em: EntityManager, trialId: string): Promise<ChangeSubject> {
  const [row] = await executeBound<{
    user_id: string;
    email: string | null;
    stripe_customer_id: string | null;
    trial_start: Date;
    trial_end: Date;
    endpoints: Array<{ id: string; eventTypes: string[] }>;
  }>(em, CHANGE_SUBJECT, [trialId]);
  if (!row) throw new Error(`trial ${trialId} not found`);
  return {
    trial: {
      userId: row.user_id,
      email: row.email,
      stripeCustomerId: row.stripe_customer_id,
      trialStart: new Date(row.trial_start),
      trialEnd: new Date(row.trial_end),
    },
    endpoints: row.endpoints,
  };
}

/** Pure: a transition's deliveries, one per (enabled endpoint, wanted event type), each id derived from its subject. */
export function planChangeDeliveries(change: ChangeFacts, { trial, endpoints }: ChangeSubject): DeliveryRow[] {
  return endpoints.flatMap((endpoint) =>
    eventTypesFor(change)
      .filter((type) => wantsEvent(endpoint, type))
      .map((eventType) => {
        const id = deliveryIdFor(change.id, endpoint.id, eventType);
        return {
          id,
          endpointId: endpoint.id,
          eventType,
          body: changeEventBody(eventType, change, trial, eventIdOf(id)),
          segmentChangeId: change.id,
          trialId: change.trialId,
          sequence: change.sequence,
        };
      }),
  );
}
