import { Migration } from '@mikro-orm/migrations';
import { replacingRollUpTrigger, ROLL_UP_MARKING_AHA_TRIGGER_DDL, ROLL_UP_WITH_TRIAL_TRIGGER_DDL } from '../src/modules/trials/segment-rollup.ddl.ts';

/**
 * A move into a segment only an aha reaches marks its trial's first aha, in the roll-up trigger's one update of the
 * trial's row (segment-rollup.ddl.ts), instead of ingest marking it in a statement of its own. Nothing to backfill:
 * every trial that entered such a segment before was marked by ingest or by the workflow's look at stored events.
 */
export class Migration20261206170000_aha_marked_by_move extends Migration {
  override name = 'Migration20261206170000_aha_marked_by_move';

  override up(): void | Promise<void> {
    for (const sql of replacingRollUpTrigger(ROLL_UP_MARKING_AHA_TRIGGER_DDL)) this.addSql(sql);
  }

  override down(): void | Promise<void> {
    for (const sql of replacingRollUpTrigger(ROLL_UP_WITH_TRIAL_TRIGGER_DDL)) this.addSql(sql);
  }
}
