import { Migration } from '@mikro-orm/migrations';

/**
 * Conversion reads a range's trials from the (app, trial start) index alone, which now carries
 * what it counts; a settings preview finds the open trials through a partial index.
 */
export class Migration20261206003500_trials_insight_indexes extends Migration {
  override name = 'Migration20261206003500_trials_insight_indexes';

  override up(): void | Promise<void> {
    this.addSql(`drop index "trials_app_id_trial_start_index";`);
    this.addSql(
      `create index "trials_app_id_trial_start_index" on "trials" ("app_id", "trial_start") include ("segment", "path", "last_open_reason", "account_id");`,
    );
    this.addSql(`create index "trials_open_index" on "trials" ("app_id") where "segment" is null or "segment" not in ('converted', 'expired');`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "trials_open_index";`);
    this.addSql(`drop index "trials_app_id_trial_start_index";`);
    this.addSql(`create index "trials_app_id_trial_start_index" on "trials" ("app_id", "trial_start");`);
  }
}
