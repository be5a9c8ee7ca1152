/**
 * The trigger that keeps finished_trial_counts from trials: each finished trial (converted or expired) counts once, on
 * its start day (UTC), under its kind, path, last open reason and outcome. Only a trial that enters, leaves or changes
 * while in a final segment touches it (a late payment takes its `expired` one back and adds a `converted` one): its
 * moves while open do not. (A first form counted open trials too, so every move rewrote two counters that every
 * concurrent move also rewrote: a transition cost half as much again at 200/s offered.) Conversion then sums days of
 * finished trials and reads the open ones, the few still moving, from the trials themselves.
 */
export const FINISHED_TRIAL_COUNTS_TRIGGER_DDL = `
create function trials_trials_finished_count_fn() returns trigger language plpgsql as $$
begin
  if tg_op = 'UPDATE' and (old.app_id, old.account_id is null, old.trial_start, old.path, old.last_open_reason, old.segment)
      is not distinct from (new.app_id, new.account_id is null, new.trial_start, new.path, new.last_open_reason, new.segment) then
    return null;
  end if;
  if tg_op in ('DELETE', 'UPDATE') and old.segment in ('converted', 'expired') then
    update finished_trial_counts c set trials = c.trials - 1
     where c.app_id = old.app_id and c.kind = case when old.account_id is null then 'user' else 'account' end
       and c.start_day = (old.trial_start at time zone 'UTC')::date and c.path = old.path and c.reason = coalesce(old.last_open_reason, '')
       and c.outcome = old.segment;
  end if;
  if tg_op in ('INSERT', 'UPDATE') and new.segment in ('converted', 'expired') then
    insert into finished_trial_counts (app_id, kind, start_day, path, reason, outcome, trials)
    values (new.app_id, case when new.account_id is null then 'user' else 'account' end, (new.trial_start at time zone 'UTC')::date,
            new.path, coalesce(new.last_open_reason, ''), new.segment, 1)
    on conflict (app_id, kind, start_day, path, reason, outcome) do update set trials = finished_trial_counts.trials + 1;
  end if;
  return null;
end $$;
create trigger "trials_finished_count" after insert or update of "segment", "path", "last_open_reason", "trial_start", "account_id" or delete on "trials"
for each row execute function trials_trials_finished_count_fn();`;
