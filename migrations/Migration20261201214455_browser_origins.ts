import { Migration } from '@mikro-orm/migrations';

export class Migration20261201214455_browser_origins extends Migration {
  override name = 'Migration20261201214455_browser_origins';

  override up(): void | Promise<void> {
    this.addSql(`alter table "app_settings" add "allowed_origins" jsonb null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "app_settings" drop column "allowed_origins";`);
  }
}
