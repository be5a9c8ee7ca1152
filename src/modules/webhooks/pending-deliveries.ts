/**
 * A change's pending deliveries with their endpoints, for its first attempts: as the change's
 * recording returned them (segment-change-recording.ts), or read in one query (the ORM's joined
 * populate cost several times the CPU of the query itself), each with whether an earlier change
 * of its trial still waits for the same endpoint. Plain objects, not entities: nothing here is
 * flushed (attempts are recorded in their own statement), and mapping the rows into entities was
 * 6 % of the worker's busy time under load.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../../infra/bound-statement.ts';
import { prepareStatement } from '../../infra/prepared-statements.ts';
import type { DeliveryView } from './webhook-delivery.entity.ts';
import type { EndpointView } from './webhook-endpoint.entity.ts';

export interface PendingDelivery {
  delivery: DeliveryView;
  /** An earlier change of the same trial has a delivery to this endpoint still pending (in its lane). */
  behindEarlier: boolean;
}

/** A webhook_deliveries row as to_jsonb gives it. */
interface DeliveryJson {
  id: string;
  event_type: string;
  body: string;
  segment_change_id: string | null;
  trial_id: string | null;
  sequence: number | null;
  status: string;
  attempt_count: number;
  created_at: string;
  delivered_at: string | null;
}

/** A webhook_endpoints row as to_jsonb gives it. */
interface EndpointJson {
  id: string;
  app_id: string;
  url: string;
  format: string;
  destination: string | null;
  description: string | null;
  event_types: string[];
  segments: string[] | null;
  headers: Record<string, string>;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: string | null;
  timeout_ms: number;
  retry_schedule: string[];
  ordered: boolean;
  disable_after: string;
  failing_since: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  max_per_second: number | null;
  created_at: string;
}

/** A pending delivery as a row: the delivery's and its endpoint's rows as JSON objects (to_jsonb). */
export interface PendingDeliveryRow {
  delivery_row: DeliveryJson;
  endpoint_row: EndpointJson;
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
  return pendingDeliveriesFrom(await executeBound<PendingDeliveryRow>(em, PENDING_OF_CHANGE, [changeId]));
}

/** The rows as deliveries; those to the same endpoint share one endpoint object, as an attempt's health change must reach the next. */
export function pendingDeliveriesFrom(rows: readonly PendingDeliveryRow[]): PendingDelivery[] {
  const endpoints = new Map<string, EndpointView>();
  return rows.map(({ delivery_row: delivery, endpoint_row: endpoint, behind_earlier: behindEarlier }) => {
    let view = endpoints.get(endpoint.id);
    if (!view) endpoints.set(endpoint.id, (view = endpointOf(endpoint)));
    return { delivery: deliveryOf(delivery, view), behindEarlier };
  });
}

/** A timestamp as to_jsonb writes it (ISO-8601 with its offset). */
const dateOf = (value: string | null): Date | null => (value === null ? null : new Date(value));

function deliveryOf(row: DeliveryJson, endpoint: EndpointView): DeliveryView {
  return {
    id: row.id,
    endpoint,
    eventType: row.event_type,
    body: row.body,
    segmentChangeId: row.segment_change_id,
    trialId: row.trial_id,
    sequence: row.sequence,
    status: row.status,
    attemptCount: row.attempt_count,
    createdAt: dateOf(row.created_at)!,
    deliveredAt: dateOf(row.delivered_at),
  };
}

function endpointOf(row: EndpointJson): EndpointView {
  return {
    id: row.id,
    app: { id: row.app_id },
    url: row.url,
    format: row.format,
    destination: row.destination,
    description: row.description,
    eventTypes: row.event_types,
    segments: row.segments,
    headers: row.headers,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretExpiresAt: dateOf(row.previous_secret_expires_at),
    timeoutMs: row.timeout_ms,
    retrySchedule: row.retry_schedule,
    ordered: row.ordered,
    disableAfter: row.disable_after,
    failingSince: dateOf(row.failing_since),
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    maxPerSecond: row.max_per_second,
    createdAt: dateOf(row.created_at)!,
  };
}
