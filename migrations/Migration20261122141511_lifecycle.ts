import { Migration } from '@mikro-orm/migrations';

export class Migration20261122141511_lifecycle extends Migration {
  override name = 'Migration20261122141511_lifecycle';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "app_settings" ("app_id" varchar(255) not null, "aha_events" jsonb not null, "conversion_events" jsonb not null, "inactivity_after" varchar(255) not null, "ending_soon_before" varchar(255) not null, "last_chance_before" varchar(255) not null, "updated_at" timestamptz not null, primary key ("app_id"));`,
    );

    this.addSql(`alter table "trials" add "last_activity_at" timestamptz null, add "aha_reached_at" timestamptz null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "app_settings" cascade;`);

    this.addSql(`alter table "trials" drop column "last_activity_at", drop column "aha_reached_at";`);
  }
}
