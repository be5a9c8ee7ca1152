import { Migration } from '@mikro-orm/migrations';

/**
 * A token each save of an app's settings replaces, so an API process holding a cached copy
 * learns from its next event write that the copy is stale (null: saved before this migration).
 */
export class Migration20261202160000_settings_revision extends Migration {
  override name = 'Migration20261202160000_settings_revision';

  override up(): void | Promise<void> {
    this.addSql(`alter table "app_settings" add "revision" varchar(255) null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "app_settings" drop column "revision";`);
  }
}
