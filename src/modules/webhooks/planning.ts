/**
 * Deliveries are planned inside the transaction that records their subject (a transition, an
 * operational event, a test): one row per (endpoint, event type), inserted in one statement,
 * idempotent on the delivery id.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../../infra/bound-statement.ts';
import { prepareStatement } from '../../infra/prepared-statements.ts';
import {
  changeEventBody,
  eventIdOf,
  eventTypesFor,
  MAX_MEMBERS_IN_WEBHOOK,
  wantsEvent,
  wantsSegment,
  type ChangeFacts,
  type MemberFacts,
  type TrialFacts,
} from './catalog.ts';
import { deliveryIdFor } from './delivery-id.ts';
import { isHeldOut } from './holdouts.ts';

export interface DeliveryRow {
  id: string;
  endpointId: string;
  eventType: string;
  body: string;
  segmentChangeId?: string | null;
  trialId?: string | null;
  sequence?: number | null;
  /** held_out: its endpoint's running holdout keeps this trial's webhooks from it (recorded, never sent). */
  status?: 'pending' | 'held_out';
  /** The running holdout the trial was assigned in, when its endpoint has one. */
  holdoutId?: string;
}

/**
 * One INSERT for all of them; a row whose id exists already, in any week's partition, is left as it is (a retried
 * activity plans again). This check is what keeps an id once: the primary key holds (id, created_at).
 */
const INSERT_DELIVERIES = prepareStatement(`
insert into webhook_deliveries (id, endpoint_id, event_type, body, segment_change_id, trial_id, sequence, status, attempt_count, created_at)
select d.id, d.endpoint_id, d.event_type, d.body, d.segment_change_id, d.trial_id, d.sequence, 'pending', 0, now()
from jsonb_to_recordset(cast($1 as jsonb))
  as d(id text, endpoint_id text, event_type text, body text, segment_change_id text, trial_id text, sequence int)
where not exists (select 1 from webhook_deliveries planned where planned.id = d.id)
on conflict do nothing`);

export async function insertDeliveries(em: EntityManager, rows: DeliveryRow[]): Promise<void> {
  if (rows.length === 0) return;
  await executeBound(em, INSERT_DELIVERIES, [
    JSON.stringify(
      rows.map((row) => ({
        id: row.id,
        endpoint_id: row.endpointId,
        event_type: row.eventType,
        body: row.body,
        segment_change_id: row.segmentChangeId ?? null,
        trial_id: row.trialId ?? null,
        sequence: row.sequence ?? null,
      })),
    ),
  ]);
}

/** An enabled endpoint as planning sees it: what it wants, and its running holdout. */
export interface PlannedEndpoint {
  id: string;
  eventTypes: string[];
  segments: string[] | null;
  holdout: { id: string; percent: number } | null;
}

/** What a transition's deliveries are made of: the trial's facts and the app's enabled endpoints. */
export interface ChangeSubject {
  trial: TrialFacts;
  endpoints: PlannedEndpoint[];
}

/**
 * A trial's facts for its webhooks and its app's enabled endpoints (read for every transition);
 * for an account's trial also the account's name, its member count and its most recently
 * active members (nothing to read for a person's: those subqueries find no row).
 */
const CHANGE_SUBJECT = prepareStatement(`
select t.user_id, t.account_id, t.email, t.stripe_customer_id, t.trial_start, t.trial_end,
       (select a.name from accounts a where a.app_id = t.app_id and a.account_id = t.account_id) as account_name,
       (select count(*) from account_members m where m.app_id = t.app_id and m.account_id = t.account_id)::int as member_count,
       (select coalesce(json_agg(json_build_object(
                 'user_id', m.user_id, 'email', m.email,
                 'last_active_at', to_char(m.last_active_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                 'aha', m.aha_at is not null) order by m.last_active_at desc, m.user_id), '[]')
          from (select m.user_id, m.email, m.last_active_at, m.aha_at from account_members m where m.app_id = t.app_id and m.account_id = t.account_id
                order by m.last_active_at desc, m.user_id limit ${MAX_MEMBERS_IN_WEBHOOK}) m) as members,
       coalesce((select json_agg(json_build_object('id', e.id, 'eventTypes', e.event_types, 'segments', e.segments,
                                           'holdout', (select json_build_object('id', x.id, 'percent', x.percent) from holdout_experiments x
                                                        where x.endpoint_id = e.id and x.stopped_at is null)) order by e.id)
                 from webhook_endpoints e where e.app_id = t.app_id and e.enabled), '[]') as endpoints
from trials t where t.id = $1`);

/** The trial and its app's enabled endpoints, in one query (nothing to plan without endpoints). */
export async function loadChangeSubject(em: EntityManager, trialId: string): Promise<ChangeSubject> {
  const [row] = await executeBound<{
    user_id: string | null;
    account_id: string | null;
    email: string | null;
    stripe_customer_id: string | null;
    trial_start: Date;
    trial_end: Date;
    account_name: string | null;
    member_count: number;
    members: MemberFacts[];
    endpoints: PlannedEndpoint[];
  }>(em, CHANGE_SUBJECT, [trialId]);
  if (!row) throw new Error(`trial ${trialId} not found`);
  return {
    trial: {
      userId: row.user_id,
      email: row.email,
      stripeCustomerId: row.stripe_customer_id,
      trialStart: new Date(row.trial_start),
      trialEnd: new Date(row.trial_end),
      account: row.account_id === null ? null : { accountId: row.account_id, name: row.account_name, memberCount: row.member_count, members: row.members },
    },
    endpoints: row.endpoints,
  };
}

/**
 * A transition's deliveries, one per (enabled endpoint, wanted event type), each id derived from
 * its subject; those to an endpoint whose running holdout holds the trial out are held out.
 */
export function planChangeDeliveries(change: ChangeFacts, { trial, endpoints }: ChangeSubject): DeliveryRow[] {
  return endpoints
    .filter((endpoint) => wantsSegment(endpoint, change.newSegment))
    .flatMap((endpoint) => {
      const heldOut = endpoint.holdout !== null && isHeldOut(endpoint.holdout.id, change.trialId, endpoint.holdout.percent);
      return eventTypesFor(change)
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
            status: heldOut ? ('held_out' as const) : ('pending' as const),
            ...(endpoint.holdout ? { holdoutId: endpoint.holdout.id } : {}),
          };
        });
    });
}
