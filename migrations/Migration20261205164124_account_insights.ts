import { Migration } from '@mikro-orm/migrations';
import { DWELL_AND_KIND_TRIGGER_DDL, DWELL_TRIGGER_DDL, ROLL_UP_BY_KIND_TRIGGER_DDL, ROLL_UP_TRIGGER_DDL } from '../src/modules/trials/segment-rollup.ddl.ts';

/**
 * Insights per kind of trial: every move carries its trial's kind (`user` or `account`), set by
 * the database as it is stored, and the rollups count per kind. The moves recorded before are
 * given their trials' kind, and the rollups are rebuilt from them (exact, as insight_rollups built them).
 */
export class Migration20261205164124_account_insights extends Migration {
  override name = 'Migration20261205164124_account_insights';

  override up(): void | Promise<void> {
    this.addSql(`alter table "segment_changes" add "trial_kind" varchar(255) not null default 'user';`);
    this.addSql(`update segment_changes c set trial_kind = 'account' from trials t where t.id = c.trial_id and t.account_id is not null;`);

    this.addSql(`alter table "segment_dwell_hours" drop constraint "segment_dwell_hours_pkey";`);
    this.addSql(`alter table "segment_dwell_hours" add "kind" varchar(255) not null default 'user';`);
    this.addSql(`alter table "segment_dwell_hours" alter column "kind" drop default;`);
    this.addSql(`alter table "segment_move_hours" drop constraint "segment_move_hours_pkey";`);
    this.addSql(`alter table "segment_move_hours" add "kind" varchar(255) not null default 'user';`);
    this.addSql(`alter table "segment_move_hours" alter column "kind" drop default;`);

    this.addSql(`truncate segment_move_hours, segment_dwell_hours;`);
    this.addSql(`
      insert into segment_move_hours (app_id, hour, kind, old_segment, new_segment, moves)
      select app_id, date_trunc('hour', occurred_at, 'UTC'), trial_kind, coalesce(old_segment, ''), new_segment, count(*) from segment_changes group by 1, 2, 3, 4, 5;`);
    this.addSql(`
      insert into segment_dwell_hours (app_id, hour, kind, segment, bin, departures)
      select app_id, date_trunc('hour', occurred_at, 'UTC'), trial_kind, old_segment, floor(4 * ln(1 + greatest(dwell_seconds, 0)) / ln(2))::int, count(*)
        from segment_changes where dwell_seconds is not null group by 1, 2, 3, 4, 5;`);
    this.addSql(`alter table "segment_dwell_hours" add primary key ("app_id", "hour", "kind", "segment", "bin");`);
    this.addSql(`alter table "segment_move_hours" add primary key ("app_id", "hour", "kind", "old_segment", "new_segment");`);

    this.addSql(`drop trigger "segment_changes_roll_up" on "segment_changes";`);
    this.addSql(`drop function segment_changes_segment_changes_roll_up_fn();`);
    this.addSql(`drop trigger "segment_changes_dwell" on "segment_changes";`);
    this.addSql(`drop function segment_changes_segment_changes_dwell_fn();`);
    this.addSql(ROLL_UP_BY_KIND_TRIGGER_DDL);
    this.addSql(DWELL_AND_KIND_TRIGGER_DDL);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger "segment_changes_roll_up" on "segment_changes";`);
    this.addSql(`drop function segment_changes_segment_changes_roll_up_fn();`);
    this.addSql(`drop trigger "segment_changes_dwell" on "segment_changes";`);
    this.addSql(`drop function segment_changes_segment_changes_dwell_fn();`);
    this.addSql(ROLL_UP_TRIGGER_DDL);
    this.addSql(DWELL_TRIGGER_DDL);

    this.addSql(`alter table "segment_dwell_hours" drop constraint "segment_dwell_hours_pkey";`);
    this.addSql(`truncate segment_move_hours, segment_dwell_hours;`);
    this.addSql(`alter table "segment_dwell_hours" drop column "kind";`);
    this.addSql(`alter table "segment_move_hours" drop constraint "segment_move_hours_pkey";`);
    this.addSql(`alter table "segment_move_hours" drop column "kind";`);
    this.addSql(`
      insert into segment_move_hours (app_id, hour, old_segment, new_segment, moves)
      select app_id, date_trunc('hour', occurred_at, 'UTC'), coalesce(old_segment, ''), new_segment, count(*) from segment_changes group by 1, 2, 3, 4;`);
    this.addSql(`
      insert into segment_dwell_hours (app_id, hour, segment, bin, departures)
      select app_id, date_trunc('hour', occurred_at, 'UTC'), old_segment, floor(4 * ln(1 + greatest(dwell_seconds, 0)) / ln(2))::int, count(*)
        from segment_changes where dwell_seconds is not null group by 1, 2, 3, 4;`);
    this.addSql(`alter table "segment_dwell_hours" add primary key ("app_id", "hour", "segment", "bin");`);
    this.addSql(`alter table "segment_move_hours" add primary key ("app_id", "hour", "old_segment", "new_segment");`);
    this.addSql(`alter table "segment_changes" drop column "trial_kind";`);
  }
}
