import { Migration } from '@mikro-orm/migrations';

export class Migration20261122142417_ingest extends Migration {
  override name = 'Migration20261122142417_ingest';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "events" ("id" bigserial primary key, "app_id" varchar(255) not null, "message_id" varchar(120) not null, "type" varchar(16) not null, "event" varchar(200) null, "user_id" varchar(255) null, "anonymous_id" varchar(255) null, "properties" jsonb not null, "traits" jsonb not null, "context" jsonb not null, "timestamp" timestamptz not null, "received_at" timestamptz not null);`,
    );
    this.addSql(`create index "events_app_id_user_id_index" on "events" ("app_id", "user_id");`);
    this.addSql(`create index "events_app_id_anonymous_id_index" on "events" ("app_id", "anonymous_id");`);
    this.addSql(`create index "events_app_id_received_at_index" on "events" ("app_id", "received_at");`);
    this.addSql(`alter table "events" add constraint "events_app_id_message_id_unique" unique ("app_id", "message_id");`);

    this.addSql(
      `create table "identities" ("id" bigserial primary key, "app_id" varchar(255) not null, "anonymous_id" varchar(255) not null, "user_id" varchar(255) not null, "email" varchar(255) null, "updated_at" timestamptz not null);`,
    );
    this.addSql(`alter table "identities" add constraint "identities_app_id_anonymous_id_unique" unique ("app_id", "anonymous_id");`);

    this.addSql(`alter table "events" add constraint "events_app_id_foreign" foreign key ("app_id") references "apps" ("id") on delete cascade;`);

    this.addSql(`alter table "identities" add constraint "identities_app_id_foreign" foreign key ("app_id") references "apps" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "events" cascade;`);
    this.addSql(`drop table if exists "identities" cascade;`);
  }
}
