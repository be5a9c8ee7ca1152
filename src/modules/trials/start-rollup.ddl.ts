/**
 * The trigger that keeps trial_start_counts from trials: each trial counts once, on its start day (UTC), under its
 * kind, path, last open reason and outcome (open, converted or expired); a change to any of them (every move changes
 * the path or the outcome) takes the old row's one back and adds one to the new. Conversion then sums days, not
 * trials. Deferred to commit, as the moves' rollups are, so a count's row is locked only for that instant.
 */
export const TRIAL_START_COUNTS_TRIGGER_DDL = `
create function trials_trials_start_count_fn() returns trigger language plpgsql as $$
begin
  if tg_op = 'UPDATE' and (old.app_id, old.account_id is null, old.trial_start, old.path, old.last_open_reason,
                           case when old.segment in ('converted', 'expired') then old.segment else 'open' end)
      is not distinct from (new.app_id, new.account_id is null, new.trial_start, new.path, new.last_open_reason,
                           case when new.segment in ('converted', 'expired') then new.segment else 'open' end) then
    return null;
  end if;
  if tg_op in ('DELETE', 'UPDATE') then
    update trial_start_counts c set trials = c.trials - 1
     where c.app_id = old.app_id and c.kind = case when old.account_id is null then 'user' else 'account' end
       and c.start_day = (old.trial_start at time zone 'UTC')::date and c.path = old.path and c.reason = coalesce(old.last_open_reason, '')
       and c.outcome = case when old.segment in ('converted', 'expired') then old.segment else 'open' end;
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    insert into trial_start_counts (app_id, kind, start_day, path, reason, outcome, trials)
    values (new.app_id, case when new.account_id is null then 'user' else 'account' end, (new.trial_start at time zone 'UTC')::date,
            new.path, coalesce(new.last_open_reason, ''), case when new.segment in ('converted', 'expired') then new.segment else 'open' end, 1)
    on conflict (app_id, kind, start_day, path, reason, outcome) do update set trials = trial_start_counts.trials + 1;
  end if;
  return null;
end $$;
create constraint trigger "trials_start_count" after insert or update of "segment", "path", "last_open_reason", "trial_start", "account_id" or delete on "trials"
deferrable initially deferred for each row execute function trials_trials_start_count_fn();`;
