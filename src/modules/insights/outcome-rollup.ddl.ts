/**
 * The trigger that keeps driver_day_counts from trial_outcomes: for each finished trial, +1 on
 * its start day for each event name it did before its outcome, and on the day's total (event '');
 * a changed outcome (an expired trial that pays late) takes its old row back first. Conversion
 * drivers then sum days, not trials.
 */
export const DRIVER_COUNTS_TRIGGER_DDL = `
create function trial_outcomes_trial_outcomes_count_fn() returns trigger language plpgsql as $$
begin
  if tg_op in ('DELETE', 'UPDATE') then
    update driver_day_counts d set trials = d.trials - 1, converted = d.converted - old.converted::int
     where d.app_id = old.app_id and d.kind = old.kind and d.start_day = (old.trial_start at time zone 'UTC')::date
       and d.event = any(array_append(old.events, ''));
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    insert into driver_day_counts (app_id, kind, start_day, event, trials, converted)
    select new.app_id, new.kind, (new.trial_start at time zone 'UTC')::date, e.event, 1, new.converted::int
      from unnest(array_append(new.events, '')) as e(event)
    on conflict (app_id, kind, start_day, event)
      do update set trials = driver_day_counts.trials + 1, converted = driver_day_counts.converted + excluded.converted;
  end if;
  return null;
end $$;
create trigger "trial_outcomes_count" after insert or update or delete on "trial_outcomes"
for each row execute function trial_outcomes_trial_outcomes_count_fn();`;
