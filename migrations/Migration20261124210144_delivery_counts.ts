import { Migration } from '@mikro-orm/migrations';

export class Migration20261124210144_delivery_counts extends Migration {
  override name = 'Migration20261124210144_delivery_counts';

  override up(): void | Promise<void> {
    this.addSql(`create index "webhook_deliveries_trial_id_status_index" on "webhook_deliveries" ("trial_id", "status");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "webhook_deliveries_trial_id_status_index";`);
  }
}
