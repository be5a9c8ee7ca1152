/**
 * The triggers that keep the insights' rollups from segment_changes. Before a move is stored, its
 * dwell (seconds since the trial's previous move) is set on it; at commit, +1 (−1 for a deleted
 * move) goes to its hour's (from, to) count in segment_move_hours and to its dwell's bin in
 * segment_dwell_hours (4 bins per doubling), and the trial's path and last open reason follow.
 * Deferred to commit, so a count's row is locked only for that instant. Used by the insight_rollups migration and
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
    if new.dwell_seconds is not null then
      insert into segment_dwell_hours (app_id, hour, segment, bin, departures)
      values (new.app_id, date_trunc('hour', new.occurred_at, 'UTC'), new.old_segment, floor(4 * ln(1 + greatest(new.dwell_seconds, 0)) / ln(2))::int, 1)
      on conflict (app_id, hour, segment, bin) do update set departures = segment_dwell_hours.departures + 1;
    end if;
    if new.new_segment not in ('converted', 'expired') then
      update trials set path = case when path = '' then new.new_segment else path || '>' || new.new_segment end, last_open_reason = new.reason
       where id = new.trial_id;
    end if;
    return new;
  end if;
  update segment_move_hours set moves = moves - 1
   where app_id = old.app_id and hour = date_trunc('hour', old.occurred_at, 'UTC') and old_segment = coalesce(old.old_segment, '') and new_segment = old.new_segment;
  if old.dwell_seconds is not null then
    update segment_dwell_hours set departures = departures - 1
     where app_id = old.app_id and hour = date_trunc('hour', old.occurred_at, 'UTC') and segment = old.old_segment
       and bin = floor(4 * ln(1 + greatest(old.dwell_seconds, 0)) / ln(2))::int;
  end if;
  return old;
end $$;
create constraint trigger "segment_changes_roll_up" after insert or delete on "segment_changes"
deferrable initially deferred for each row execute function segment_changes_segment_changes_roll_up_fn();`;

export const DWELL_TRIGGER_DDL = `
create function segment_changes_segment_changes_dwell_fn() returns trigger language plpgsql as $$
begin
  if new.old_segment is not null then
    new.dwell_seconds := (select extract(epoch from new.occurred_at - p.occurred_at) from segment_changes p where p.trial_id = new.trial_id and p.sequence = new.sequence - 1);
  end if;
  return new;
end $$;
create trigger "segment_changes_dwell" before insert on "segment_changes" for each row execute function segment_changes_segment_changes_dwell_fn();`;

/**
 * Since account trials (the account_insights migration): every move carries its trial's kind
 * (`user` or `account`, set as it is stored), and the rollups count per kind, so the insights
 * can be read for people's trials, accounts' or both.
 */
export const ROLL_UP_BY_KIND_TRIGGER_DDL = rollUpByKind(`
    if new.new_segment not in ('converted', 'expired') then
      update trials set path = case when path = '' then new.new_segment else path || '>' || new.new_segment end, last_open_reason = new.reason
       where id = new.trial_id;
    end if;`);

export const DWELL_AND_KIND_TRIGGER_DDL = `
create function segment_changes_segment_changes_dwell_fn() returns trigger language plpgsql as $$
begin
  if new.old_segment is not null then
    new.dwell_seconds := (select extract(epoch from new.occurred_at - p.occurred_at) from segment_changes p where p.trial_id = new.trial_id and p.sequence = new.sequence - 1);
  end if;
  new.trial_kind := (select case when t.account_id is null then 'user' else 'account' end from trials t where t.id = new.trial_id);
  return new;
end $$;
create trigger "segment_changes_dwell" before insert on "segment_changes" for each row execute function segment_changes_segment_changes_dwell_fn();`;

/**
 * Since move_writes: the trial's row follows each move in the same update (its segment and sequence, when the
 * move is its latest, with its path and last open reason), where the move's recording updated the segment in its own
 * statement and this trigger then wrote the row a second time for the path: two new versions of the trial's row, and
 * their index entries, for every move (its path is in an index, so neither update stayed on its page). Moves stored
 * out of order (or seeded under a trial already at a later sequence) still add to the path and leave the segment.
 * The trial's row is written before the hour's count, whose row every concurrent move of the app waits for.
 */
export const ROLL_UP_WITH_TRIAL_TRIGGER_DDL = rollUpByKind(trialFollowsMove(), 'first');

/**
 * Since aha_marked_by_move: a move into a segment that only an aha reaches (found value, on track to convert, needs a
 * nudge) marks the trial's first aha in the same update. Ingest marked it in a statement of its own after telling the
 * workflow (one more statement and commit for every aha); the mark only keeps ingest from telling it again, and the
 * move is where the workflow has taken the aha for certain.
 */
export const ROLL_UP_MARKING_AHA_TRIGGER_DDL = rollUpByKind(
  trialFollowsMove(
    `aha_reached_at = case when new.new_segment in ('found_value', 'on_track_to_convert', 'needs_nudge') then coalesce(aha_reached_at, new.occurred_at) else aha_reached_at end`,
  ),
  'first',
);

/** The trial's one update for a move since move_writes (segment, sequence, path, last open reason), with what a later trigger adds. */
function trialFollowsMove(...more: string[]): string {
  const sets = [
    'segment = case when last_sequence < new.sequence then new.new_segment else segment end',
    'last_sequence = greatest(last_sequence, new.sequence)',
    "path = case when new.new_segment in ('converted', 'expired') then path when path = '' then new.new_segment else path || '>' || new.new_segment end",
    "last_open_reason = case when new.new_segment in ('converted', 'expired') then last_open_reason else new.reason end",
    ...more,
  ];
  return `
    update trials set
      ${sets.join(',\n      ')}
     where id = new.trial_id;`;
}

/** A migration's statements putting `ddl` in place of the roll-up trigger it finds. */
export const replacingRollUpTrigger = (ddl: string): string[] => [
  `drop trigger "segment_changes_roll_up" on "segment_changes";`,
  `drop function segment_changes_segment_changes_roll_up_fn();`,
  ddl,
];

/**
 * The roll-up trigger since account_insights, counting each move by kind, with what it does to the trial's row
 * (`trialUpdate`), after the counts or, since move_writes, before them. Every migration's trigger since is made by it (and
 * the trial's update by trialFollowsMove), so both are frozen with them as the constants are: a change to a trigger is a
 * new constant and a new migration.
 */
function rollUpByKind(trialUpdate: string, order: 'first' | 'last' = 'last'): string {
  const count = `
    insert into segment_move_hours (app_id, hour, kind, old_segment, new_segment, moves)
    values (new.app_id, date_trunc('hour', new.occurred_at, 'UTC'), new.trial_kind, coalesce(new.old_segment, ''), new.new_segment, 1)
    on conflict (app_id, hour, kind, old_segment, new_segment) do update set moves = segment_move_hours.moves + 1;
    if new.dwell_seconds is not null then
      insert into segment_dwell_hours (app_id, hour, kind, segment, bin, departures)
      values (new.app_id, date_trunc('hour', new.occurred_at, 'UTC'), new.trial_kind, new.old_segment, floor(4 * ln(1 + greatest(new.dwell_seconds, 0)) / ln(2))::int, 1)
      on conflict (app_id, hour, kind, segment, bin) do update set departures = segment_dwell_hours.departures + 1;
    end if;`;
  return `
create function segment_changes_segment_changes_roll_up_fn() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then${order === 'first' ? trialUpdate + count : count + trialUpdate}
    return new;
  end if;
  update segment_move_hours set moves = moves - 1
   where app_id = old.app_id and hour = date_trunc('hour', old.occurred_at, 'UTC') and kind = old.trial_kind
     and old_segment = coalesce(old.old_segment, '') and new_segment = old.new_segment;
  if old.dwell_seconds is not null then
    update segment_dwell_hours set departures = departures - 1
     where app_id = old.app_id and hour = date_trunc('hour', old.occurred_at, 'UTC') and kind = old.trial_kind and segment = old.old_segment
       and bin = floor(4 * ln(1 + greatest(old.dwell_seconds, 0)) / ln(2))::int;
  end if;
  return old;
end $$;
create constraint trigger "segment_changes_roll_up" after insert or delete on "segment_changes"
deferrable initially deferred for each row execute function segment_changes_segment_changes_roll_up_fn();`;
}
