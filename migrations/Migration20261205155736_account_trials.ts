import { Migration } from '@mikro-orm/migrations';

/**
 * Account trials (B2B): accounts and their members, the account an event names, the setting of
 * how many members make an account's aha, and trials that belong to a user or to an account
 * (exactly one; existing trials are all users').
 */
export class Migration20261205155736_account_trials extends Migration {
  override name = 'Migration20261205155736_account_trials';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "account_members" ("id" bigserial primary key, "app_id" varchar(255) not null, "account_id" varchar(255) not null, "user_id" varchar(255) not null, "email" varchar(255) null, "joined_at" timestamptz not null, "last_active_at" timestamptz not null, "aha_at" timestamptz null);`,
    );
    this.addSql(`create index "account_members_app_id_user_id_index" on "account_members" ("app_id", "user_id");`);
    this.addSql(`alter table "account_members" add constraint "account_members_app_id_account_id_user_id_unique" unique ("app_id", "account_id", "user_id");`);

    this.addSql(
      `create table "accounts" ("id" bigserial primary key, "app_id" varchar(255) not null, "account_id" varchar(255) not null, "name" varchar(255) null, "traits" jsonb not null, "created_at" timestamptz not null, "updated_at" timestamptz not null);`,
    );
    this.addSql(`alter table "accounts" add constraint "accounts_app_id_account_id_unique" unique ("app_id", "account_id");`);

    this.addSql(`alter table "app_settings" add "account_aha_members" int not null default 1;`);

    this.addSql(`alter table "events" add "group_id" varchar(255) null;`);

    this.addSql(`alter table "trials" add "account_id" varchar(255) null;`);
    this.addSql(`alter table "trials" alter column "user_id" drop not null;`);
    this.addSql(`alter table "trials" add constraint "trials_app_id_account_id_unique" unique ("app_id", "account_id");`);
    this.addSql(`alter table "trials" add constraint "trials_one_subject_check" check ((user_id is null) <> (account_id is null));`);

    this.addSql(
      `alter table "account_members" add constraint "account_members_app_id_foreign" foreign key ("app_id") references "apps" ("id") on delete cascade;`,
    );

    this.addSql(`alter table "accounts" add constraint "accounts_app_id_foreign" foreign key ("app_id") references "apps" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "account_members" cascade;`);
    this.addSql(`drop table if exists "accounts" cascade;`);

    this.addSql(`alter table "app_settings" drop column "account_aha_members";`);

    this.addSql(`alter table "events" drop column "group_id";`);

    this.addSql(`alter table "trials" drop constraint "trials_app_id_account_id_unique";`);
    this.addSql(`alter table "trials" drop constraint "trials_one_subject_check";`);
    this.addSql(`alter table "trials" drop column "account_id";`);
    this.addSql(`alter table "trials" alter column "user_id" set not null;`);
  }
}
