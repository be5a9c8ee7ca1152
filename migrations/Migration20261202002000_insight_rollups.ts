import { Migration } from '@mikro-orm/migrations';
import { DWELL_TRIGGER_DDL, ROLL_UP_TRIGGER_DDL } from '../src/modules/trials/segment-rollup.ddl.ts';

/**
 * Insight rollups, kept exact by the database itself: every recorded move adds one to its
 * (app, hour, from, to) count and to its dwell's bin, and extends its trial's path; a deleted move (a deleted trial or
 * app) takes its count back. The trigger is deferred to commit, so the count's row is locked
 * only for the instant the recording transaction commits, not while it plans its webhooks.
 */
export class Migration20261202002000_insight_rollups extends Migration {
  override name = 'Migration20261202002000_insight_rollups';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "segment_move_hours" ("app_id" varchar(255) not null, "hour" timestamptz not null, "old_segment" varchar(255) not null, "new_segment" varchar(255) not null, "moves" int not null, primary key ("app_id", "hour", "old_segment", "new_segment"));`,
    );
    this.addSql(
      `create table "segment_dwell_hours" ("app_id" varchar(255) not null, "hour" timestamptz not null, "segment" varchar(255) not null, "bin" int not null, "departures" int not null, primary key ("app_id", "hour", "segment", "bin"));`,
    );
    this.addSql(`alter table "trials" add "path" text not null default '', add "last_open_reason" varchar(255) null;`);
    this.addSql(`alter table "segment_changes" add "dwell_seconds" double precision null;`);
    this.addSql(ROLL_UP_TRIGGER_DDL);
    this.addSql(DWELL_TRIGGER_DDL);
    // What was recorded before.
    this.addSql(`
      insert into segment_move_hours (app_id, hour, old_segment, new_segment, moves)
      select app_id, date_trunc('hour', occurred_at, 'UTC'), coalesce(old_segment, ''), new_segment, count(*) from segment_changes group by 1, 2, 3, 4;`);
    this.addSql(`
      update segment_changes c set dwell_seconds = extract(epoch from c.occurred_at - p.occurred_at)
        from segment_changes p where p.trial_id = c.trial_id and p.sequence = c.sequence - 1;`);
    this.addSql(`
      insert into segment_dwell_hours (app_id, hour, segment, bin, departures)
      select app_id, date_trunc('hour', occurred_at, 'UTC'), old_segment, floor(4 * ln(1 + greatest(dwell_seconds, 0)) / ln(2))::int, count(*)
        from segment_changes where dwell_seconds is not null group by 1, 2, 3, 4;`);
    this.addSql(`
      update trials t set path = coalesce(p.path, ''), last_open_reason = p.reason
        from (select trial_id,
                     string_agg(new_segment, '>' order by sequence) filter (where new_segment not in ('converted', 'expired')) as path,
                     (array_agg(reason order by sequence desc) filter (where new_segment not in ('converted', 'expired')))[1] as reason
                from segment_changes group by trial_id) p
       where p.trial_id = t.id;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger "segment_changes_roll_up" on "segment_changes";`);
    this.addSql(`drop function segment_changes_segment_changes_roll_up_fn();`);
    this.addSql(`drop trigger "segment_changes_dwell" on "segment_changes";`);
    this.addSql(`drop function segment_changes_segment_changes_dwell_fn();`);
    this.addSql(`alter table "segment_changes" drop column "dwell_seconds";`);
    this.addSql(`drop table "segment_dwell_hours";`);
    this.addSql(`alter table "trials" drop column "path", drop column "last_open_reason";`);
    this.addSql(`drop table "segment_move_hours";`);
  }
}
