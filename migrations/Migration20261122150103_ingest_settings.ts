import { Migration } from '@mikro-orm/migrations';

export class Migration20261122150103_ingest_settings extends Migration {
  override name = 'Migration20261122150103_ingest_settings';

  override up(): void | Promise<void> {
    this.addSql(`alter table "app_settings" add "event_allow_list" jsonb null, add "rate_limit_per_second" int not null default 1000;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "app_settings" drop column "event_allow_list", drop column "rate_limit_per_second";`);
  }
}
