/**
 * A transition recorded once, in one statement (one round trip, atomic without BEGIN and
 * COMMIT): the change row (whose roll-up trigger moves the trial's row at commit: its segment,
 * path and rollups), its planned webhook deliveries (and the trial's holdout assignments), and
 * the live notice. A retry or replay with the same (trial, sequence) inserts nothing, and every other
 * part is guarded on that insert, so it changes nothing either. This runs for every transition:
 * the ORM's unit of work took eight round trips and most of the worker's CPU for the same rows.
 * The statement answers with the deliveries to attempt, as their first attempts need them, so
 * those need not read back what was just written.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../../infra/bound-statement.ts';
import { prepareStatement } from '../../infra/prepared-statements.ts';
import type { ChangeFacts } from '../webhooks/catalog.ts';
import type { DeliveryRow } from '../webhooks/planning.ts';
import { behindEarlierSql, type PendingDeliveryRow } from '../webhooks/pending-deliveries.ts';
import { SEGMENT_CHANGE_CHANNEL } from './segment-change-feed.ts';

const RECORD_CHANGE = prepareStatement(`
with inserted as (
  insert into segment_changes (id, app_id, trial_id, sequence, old_segment, new_segment, reason, occurred_at)
  values ($1, $2, $3, $4, $5, $6, $7, $8)
  on conflict (trial_id, sequence) do nothing
  returning id
), planned as (
  insert into webhook_deliveries (id, endpoint_id, event_type, body, segment_change_id, trial_id, sequence, status, attempt_count, created_at)
  select d.id, d.endpoint_id, d.event_type, d.body, $1, $3, $4, d.status, 0, now()
  from jsonb_to_recordset(cast($9 as jsonb)) as d(id text, endpoint_id text, event_type text, body text, status text)
  where exists (select 1 from inserted)
  on conflict do nothing
  returning id, endpoint_id, trial_id, sequence, status, to_jsonb(webhook_deliveries) as delivery_row
), assigned as (
  insert into holdout_assignments (experiment_id, trial_id, held_out, assigned_at)
  select distinct d.holdout_id, $3, d.status = 'held_out', now()
  from jsonb_to_recordset(cast($9 as jsonb)) as d(holdout_id text, status text)
  where d.holdout_id is not null and exists (select 1 from inserted)
  on conflict (experiment_id, trial_id) do nothing
)
-- The statement's snapshot does not hold the rows it inserts: only earlier changes' deliveries count as pending.
select pg_notify($10, $11),
       (select coalesce(json_agg(json_build_object(
                 'delivery_row', p.delivery_row, 'endpoint_row', to_jsonb(e), 'behind_earlier', ${behindEarlierSql('p')})), '[]')
          from planned p join webhook_endpoints e on e.id = p.endpoint_id
         where p.status = 'pending') as to_attempt
from inserted`);

/** What recording a change did: whether this call stored it, and if so the deliveries it planned to attempt now. */
export interface RecordedOnce {
  /** False: a change was already recorded under its sequence number. */
  inserted: boolean;
  /** The pending deliveries this call planned, with their endpoints (none when nothing was inserted). */
  toAttempt: PendingDeliveryRow[];
}

export async function recordChangeOnce(em: EntityManager, change: ChangeFacts, deliveries: DeliveryRow[]): Promise<RecordedOnce> {
  const [row] = await executeBound<{ to_attempt: PendingDeliveryRow[] }>(em, RECORD_CHANGE, [
    change.id,
    change.appId,
    change.trialId,
    change.sequence,
    change.oldSegment,
    change.newSegment,
    change.reason,
    change.occurredAt,
    JSON.stringify(
      deliveries.map(({ id, endpointId, eventType, body, status, holdoutId }) => ({
        id,
        endpoint_id: endpointId,
        event_type: eventType,
        body,
        status: status ?? 'pending',
        holdout_id: holdoutId ?? null,
      })),
    ),
    SEGMENT_CHANGE_CHANNEL,
    JSON.stringify({ id: change.id, appId: change.appId, trialId: change.trialId }),
  ]);
  return row ? { inserted: true, toAttempt: row.to_attempt } : { inserted: false, toAttempt: [] };
}
