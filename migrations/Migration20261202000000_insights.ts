import { Migration } from '@mikro-orm/migrations';

/** Insights: a move's webhooks found by the move, cohorts read by trial start. */
export class Migration20261202000000_insights extends Migration {
  override name = 'Migration20261202000000_insights';

  override up(): void | Promise<void> {
    this.addSql(`create index "webhook_deliveries_segment_change_id_index" on "webhook_deliveries" ("segment_change_id");`);
    this.addSql(`create index "trials_app_id_trial_start_index" on "trials" ("app_id", "trial_start");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "webhook_deliveries_segment_change_id_index";`);
    this.addSql(`drop index "trials_app_id_trial_start_index";`);
  }
}
