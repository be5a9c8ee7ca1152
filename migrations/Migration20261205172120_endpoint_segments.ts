import { Migration } from '@mikro-orm/migrations';

/** An endpoint's segment filter: only moves into these segments (null: every move, as before). */
export class Migration20261205172120_endpoint_segments extends Migration {
  override name = 'Migration20261205172120_endpoint_segments';

  override up(): void | Promise<void> {
    this.addSql(`alter table "webhook_endpoints" add "segments" jsonb null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "webhook_endpoints" drop column "segments";`);
  }
}
