import { Migration } from '@mikro-orm/migrations';

/** Outcome rows are read by trial (holdout reports) and through the driver_day_counts rollup: the (app, kind, start) index was written for every finished trial and never read. */
export class Migration20261205204545_trial_outcomes_unused_index extends Migration {
  override name = 'Migration20261205204545_trial_outcomes_unused_index';

  override up(): void | Promise<void> {
    this.addSql(`drop index "trial_outcomes_app_id_kind_trial_start_index";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`create index "trial_outcomes_app_id_kind_trial_start_index" on "trial_outcomes" ("app_id", "kind", "trial_start");`);
  }
}
