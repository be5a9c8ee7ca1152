import { Migration } from '@mikro-orm/migrations';

export class Migration20261122143618_aha_rules extends Migration {
  override name = 'Migration20261122143618_aha_rules';

  override up(): void | Promise<void> {
    // Existing settings rows get no rules; the default exists only for this backfill.
    this.addSql(`alter table "app_settings" add "aha_rules" jsonb not null default '[]';`);
    this.addSql(`alter table "app_settings" alter column "aha_rules" drop default;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "app_settings" drop column "aha_rules";`);
  }
}
