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
import { operationalEventBody, wantsEvent, type OperationalEvent } from './catalog.ts';
import { deliveryIdFor } from './delivery-id.ts';
import type { Dispatchable } from './lanes.ts';
import { insertDeliveries } from './planning.ts';
import { WebhookEndpoint } from './webhook-endpoint.entity.ts';

export const FAILING_AFTER_ATTEMPTS = 4;

const CHANNEL = 'webhook_operational_events';

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
  const body = operationalEventBody(full, facts);
  const others = (await em.find(WebhookEndpoint, { app: event.appId, enabled: true, id: { $ne: event.endpointId } })).filter((endpoint) =>
    wantsEvent(endpoint, event.type),
  );
  const rows = others.map((endpoint) => ({ id: deliveryIdFor(id, endpoint.id, event.type), endpointId: endpoint.id, eventType: event.type, body }));
  await insertDeliveries(em, rows);
  await notify(em, CHANNEL, full);
  return rows.map((row) => ({ id: row.id, endpointId: row.endpointId, trialId: null, ordered: false }));
}

export function operationalEventChannel(feed: PgFeed) {
  return feed.channel<OperationalEvent>(CHANNEL, async (payload) => payload as OperationalEvent);
}
