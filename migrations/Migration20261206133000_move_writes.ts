import { Migration } from '@mikro-orm/migrations';
import { replacingRollUpTrigger, ROLL_UP_BY_KIND_TRIGGER_DDL, ROLL_UP_WITH_TRIAL_TRIGGER_DDL } from '../src/modules/trials/segment-rollup.ddl.ts';

/**
 * What a move writes, once each. The roll-up trigger moves the trial's segment and sequence with its path and last open
 * reason, and the move's recording no longer updates the trial itself (segment-change-recording.ts): one new version of
 * the trial's row a move, not two. And a move's key to its app goes: its trial's key already leads there (and takes
 * the move with it when the trial goes), where checking it locked the app's one row for every move. Nothing to
 * backfill: every stored move is already in its trial's row.
 */
export class Migration20261206133000_move_writes extends Migration {
  override name = 'Migration20261206133000_move_writes';

  override up(): void | Promise<void> {
    for (const sql of replacingRollUpTrigger(ROLL_UP_WITH_TRIAL_TRIGGER_DDL)) this.addSql(sql);
    this.addSql(`alter table "segment_changes" drop constraint "segment_changes_app_id_foreign";`);
  }

  override down(): void | Promise<void> {
    this.addSql(
      `alter table "segment_changes" add constraint "segment_changes_app_id_foreign" foreign key ("app_id") references "apps" ("id") on delete cascade;`,
    );
    for (const sql of replacingRollUpTrigger(ROLL_UP_BY_KIND_TRIGGER_DDL)) this.addSql(sql);
  }
}
