/**
 * Operational events: what an app's operators need to hear about its webhooks themselves.
 * `endpoint.disabled`, `delivery.failing` (after FAILING_AFTER_ATTEMPTS failed attempts) and
 * `delivery.exhausted` go to the app's *other* endpoints that ask for them, and to the
 * `webhookOperationalEvents` subscription. Events about operational deliveries are not
 * raised, so two failing endpoints cannot keep telling each other about each other.
 */
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { notify, type PgFeed } from '../../infra/pg-feed.ts';
import { deliveryIdFor } from './delivery-id.ts';
import { WebhookDelivery } from './webhook-delivery.entity.ts';
import { WebhookEndpoint } from './webhook-endpoint.entity.ts';

export const OPERATIONAL_EVENT_TYPES = ['endpoint.disabled', 'delivery.failing', 'delivery.exhausted'] as const;
export type OperationalEventType = (typeof OPERATIONAL_EVENT_TYPES)[number];
export const FAILING_AFTER_ATTEMPTS = 4;

const CHANNEL = 'webhook_operational_events';

export interface OperationalEvent {
  id: string;
  type: OperationalEventType;
  appId: string;
  endpointId: string;
  deliveryId: string | null;
  message: string;
  occurredAt: string;
}

export function isOperational(eventType: string): boolean {
  return (OPERATIONAL_EVENT_TYPES as readonly string[]).includes(eventType);
}

/** A delivery to be handed to Temporal: which lane it joins is decided by dispatchDeliveries. */
export interface Dispatchable {
  id: string;
  endpointId: string;
  trialId: string | null;
  ordered: boolean;
  /** Epoch ms before which the lane does not attempt it (its retry schedule's next step). */
  notBefore?: number;
}

/**
 * Records the event's deliveries and notifies subscribers. `key` names the occurrence
 * (the attempt or delivery that caused it), so an activity retry raises it only once.
 */
export async function raiseOperationalEvent(
  em: EntityManager,
  event: Omit<OperationalEvent, 'id' | 'occurredAt'>,
  key: string,
  facts: Record<string, unknown>,
): Promise<Dispatchable[]> {
  const id = `evt_${createHash('sha256').update(`${event.type}|${key}`).digest('hex').slice(0, 26)}`;
  const full: OperationalEvent = { ...event, id, occurredAt: new Date().toISOString() };
  const body = JSON.stringify({
    id,
    event: event.type,
    app_id: event.appId,
    endpoint_id: event.endpointId,
    ...(event.deliveryId ? { delivery_id: event.deliveryId } : {}),
    message: event.message,
    ...facts,
    occurred_at: full.occurredAt,
  });
  const others = (await em.find(WebhookEndpoint, { app: event.appId, enabled: true, id: { $ne: event.endpointId } })).filter(
    (endpoint) => endpoint.eventTypes.includes('*') || endpoint.eventTypes.includes(event.type),
  );
  const rows = others.map((endpoint) => ({ id: deliveryIdFor(id, endpoint.id, event.type), endpoint }));
  for (const row of rows) {
    await em
      .createQueryBuilder(WebhookDelivery)
      .insert({ id: row.id, endpoint: row.endpoint.id, eventType: event.type, body, segmentChangeId: null, status: 'pending', attemptCount: 0, createdAt: new Date() })
      .onConflict('id')
      .ignore()
      .execute('run');
  }
  await notify(em, CHANNEL, full);
  return rows.map((row) => ({ id: row.id, endpointId: row.endpoint.id, trialId: null, ordered: false }));
}

export function operationalEventChannel(feed: PgFeed) {
  return feed.channel<OperationalEvent>(CHANNEL, async (payload) => payload as OperationalEvent);
}
