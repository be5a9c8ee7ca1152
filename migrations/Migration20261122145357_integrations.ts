import { Migration } from '@mikro-orm/migrations';

export class Migration20261122145357_integrations extends Migration {
  override name = 'Migration20261122145357_integrations';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "app_integrations" ("app_id" varchar(255) not null, "segment_shared_secret" text null, "stripe_signing_secret" text null, "updated_at" timestamptz not null, primary key ("app_id"));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "app_integrations" cascade;`);
  }
}
