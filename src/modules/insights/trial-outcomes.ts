/**
 * A finished trial's row for conversion drivers (trial-outcome.entity.ts), written when its
 * outcome is recorded (again if a later outcome replaces it: an expired trial that pays late).
 * The events that count are the trial's track events timed before the outcome: a person's own;
 * for an account, its members' naming it or no account (as aha counts them). Both read the
 * events by (app, user), so one outcome costs its people's events, not the app's.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { executeBound } from '../../infra/bound-statement.ts';
import { prepareStatement } from '../../infra/prepared-statements.ts';

/** The upsert for the finished trials the condition on `t` (trials) selects; the bench's seed uses it for its whole app. */
export const upsertOutcomes = (condition: string) => `
insert into trial_outcomes (trial_id, app_id, kind, trial_start, outcome_at, converted, events)
select t.id, t.app_id, case when t.account_id is null then 'user' else 'account' end, t.trial_start, c.occurred_at, t.segment = 'converted',
       coalesce((select array_agg(distinct e.event order by e.event) from events e
                  where e.app_id = t.app_id and e.type = 'track' and e.event is not null and e.timestamp < c.occurred_at
                    and e.user_id = any(case when t.account_id is null then array[t.user_id]
                                             else array(select m.user_id from account_members m where m.app_id = t.app_id and m.account_id = t.account_id) end)
                    and (t.account_id is null or e.group_id is null or e.group_id = t.account_id)), '{}')
from trials t join segment_changes c on c.trial_id = t.id and c.sequence = t.last_sequence
where t.segment in ('converted', 'expired') and ${condition}
on conflict (trial_id) do update set outcome_at = excluded.outcome_at, converted = excluded.converted, events = excluded.events`;

const RECORD_OUTCOME = prepareStatement(upsertOutcomes('t.id = $1'));

/** Records the trial's outcome row if it is finished; nothing for an open trial. Idempotent. */
export async function recordTrialOutcome(em: EntityManager, trialId: string): Promise<void> {
  await executeBound(em, RECORD_OUTCOME, [trialId]);
}
