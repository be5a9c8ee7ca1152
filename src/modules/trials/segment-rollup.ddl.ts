/**
 * The trigger that keeps the insights' rollups (segment_move_hours, a trial's path and last open
 * reason) from segment_changes: +1 on a recorded move, −1 on a deleted one, deferred to commit so
 * a count's row is locked only for that instant. Used by the insight_rollups migration and
 * declared on the SegmentChange entity. Frozen with that migration: a change to the trigger is a
 * new constant and a new migration.
 */
export const ROLL_UP_TRIGGER_DDL = `
create function segment_changes_segment_changes_roll_up_fn() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    insert into segment_move_hours (app_id, hour, old_segment, new_segment, moves)
    values (new.app_id, date_trunc('hour', new.occurred_at, 'UTC'), coalesce(new.old_segment, ''), new.new_segment, 1)
    on conflict (app_id, hour, old_segment, new_segment) do update set moves = segment_move_hours.moves + 1;
    if new.new_segment not in ('converted', 'expired') then
      update trials set path = case when path = '' then new.new_segment else path || '>' || new.new_segment end, last_open_reason = new.reason
       where id = new.trial_id;
    end if;
    return new;
  end if;
  update segment_move_hours set moves = moves - 1
   where app_id = old.app_id and hour = date_trunc('hour', old.occurred_at, 'UTC') and old_segment = coalesce(old.old_segment, '') and new_segment = old.new_segment;
  return old;
end $$;
create constraint trigger "segment_changes_roll_up" after insert or delete on "segment_changes"
deferrable initially deferred for each row execute function segment_changes_segment_changes_roll_up_fn();`;
