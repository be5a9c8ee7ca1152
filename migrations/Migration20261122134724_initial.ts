import { Migration } from '@mikro-orm/migrations';

export class Migration20261122134724_initial extends Migration {
  override name = 'Migration20261122134724_initial';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "apps" ("id" varchar(255) not null, "name" varchar(255) not null, "write_key_hash" varchar(255) not null, "server_token_hash" varchar(255) not null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`alter table "apps" add constraint "apps_write_key_hash_unique" unique ("write_key_hash");`);

    this.addSql(
      `create table "api_keys" ("id" varchar(255) not null, "app_id" varchar(255) not null, "name" varchar(255) not null, "token_hash" varchar(255) not null, "created_at" timestamptz not null, "revoked_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`alter table "api_keys" add constraint "api_keys_token_hash_unique" unique ("token_hash");`);

    this.addSql(
      `create table "trials" ("id" varchar(255) not null, "app_id" varchar(255) not null, "user_id" varchar(255) not null, "email" varchar(255) null, "stripe_customer_id" varchar(255) null, "trial_start" timestamptz not null, "trial_end" timestamptz not null, "segment" varchar(255) null, "last_sequence" int not null default 0, "workflow_id" varchar(255) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`create index "trials_app_id_segment_index" on "trials" ("app_id", "segment");`);
    this.addSql(`alter table "trials" add constraint "trials_app_id_user_id_unique" unique ("app_id", "user_id");`);

    this.addSql(
      `create table "segment_changes" ("id" varchar(255) not null, "app_id" varchar(255) not null, "trial_id" varchar(255) not null, "sequence" int not null, "old_segment" varchar(255) null, "new_segment" varchar(255) not null, "reason" varchar(255) not null, "occurred_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`create index "segment_changes_app_id_occurred_at_index" on "segment_changes" ("app_id", "occurred_at");`);
    this.addSql(`alter table "segment_changes" add constraint "segment_changes_trial_id_sequence_unique" unique ("trial_id", "sequence");`);

    this.addSql(
      `create table "webhook_endpoints" ("id" varchar(255) not null, "app_id" varchar(255) not null, "url" text not null, "description" varchar(255) null, "event_types" jsonb not null, "headers" jsonb not null, "secret" varchar(255) not null, "enabled" boolean not null default true, "created_at" timestamptz not null, primary key ("id"));`,
    );

    this.addSql(
      `create table "webhook_deliveries" ("id" varchar(255) not null, "endpoint_id" varchar(255) not null, "event_type" varchar(255) not null, "payload" jsonb not null, "status" varchar(255) not null default 'pending', "created_at" timestamptz not null, "delivered_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`create index "webhook_deliveries_endpoint_id_created_at_index" on "webhook_deliveries" ("endpoint_id", "created_at");`);

    this.addSql(
      `create table "delivery_attempts" ("id" varchar(255) not null, "delivery_id" varchar(255) not null, "attempted_at" timestamptz not null, "duration_ms" int not null, "status_code" int null, "response_headers" jsonb null, "response_body" text null, "error" text null, primary key ("id"));`,
    );
    this.addSql(`create index "delivery_attempts_delivery_id_attempted_at_index" on "delivery_attempts" ("delivery_id", "attempted_at");`);

    this.addSql(`alter table "api_keys" add constraint "api_keys_app_id_foreign" foreign key ("app_id") references "apps" ("id") on delete cascade;`);

    this.addSql(`alter table "trials" add constraint "trials_app_id_foreign" foreign key ("app_id") references "apps" ("id") on delete cascade;`);

    this.addSql(
      `alter table "segment_changes" add constraint "segment_changes_app_id_foreign" foreign key ("app_id") references "apps" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "segment_changes" add constraint "segment_changes_trial_id_foreign" foreign key ("trial_id") references "trials" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "webhook_endpoints" add constraint "webhook_endpoints_app_id_foreign" foreign key ("app_id") references "apps" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "webhook_deliveries" add constraint "webhook_deliveries_endpoint_id_foreign" foreign key ("endpoint_id") references "webhook_endpoints" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "delivery_attempts" add constraint "delivery_attempts_delivery_id_foreign" foreign key ("delivery_id") references "webhook_deliveries" ("id") on delete cascade;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "api_keys" drop constraint "api_keys_app_id_foreign";`);
    this.addSql(`alter table "trials" drop constraint "trials_app_id_foreign";`);
    this.addSql(`alter table "segment_changes" drop constraint "segment_changes_app_id_foreign";`);
    this.addSql(`alter table "webhook_endpoints" drop constraint "webhook_endpoints_app_id_foreign";`);
    this.addSql(`alter table "segment_changes" drop constraint "segment_changes_trial_id_foreign";`);
    this.addSql(`alter table "webhook_deliveries" drop constraint "webhook_deliveries_endpoint_id_foreign";`);
    this.addSql(`alter table "delivery_attempts" drop constraint "delivery_attempts_delivery_id_foreign";`);

    this.addSql(`drop table if exists "apps" cascade;`);
    this.addSql(`drop table if exists "api_keys" cascade;`);
    this.addSql(`drop table if exists "trials" cascade;`);
    this.addSql(`drop table if exists "segment_changes" cascade;`);
    this.addSql(`drop table if exists "webhook_endpoints" cascade;`);
    this.addSql(`drop table if exists "webhook_deliveries" cascade;`);
    this.addSql(`drop table if exists "delivery_attempts" cascade;`);
  }
}
