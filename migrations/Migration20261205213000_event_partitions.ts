import { Migration } from '@mikro-orm/migrations';

// Every column but the id, as both tables have them (the id's default and the primary key differ).
const COLUMN_TYPES = `"app_id" varchar(255) not null, "message_id" varchar(120) not null, "type" varchar(16) not null, "event" varchar(200) null, "user_id" varchar(255) null, "anonymous_id" varchar(255) null, "group_id" varchar(255) null, "properties" jsonb not null, "traits" jsonb not null, "context" jsonb not null, "timestamp" timestamptz not null, "received_at" timestamptz not null`;
const INDEX_COLUMNS = {
  events_app_id_user_id_index: 'user_id',
  events_app_id_anonymous_id_index: 'anonymous_id',
  events_app_id_received_at_index: 'received_at',
};
const INDEX_NAMES = Object.keys(INDEX_COLUMNS);
const INDEXES = Object.entries(INDEX_COLUMNS).map(([name, column]) => `create index "${name}" on "events" ("app_id", "${column}");`);
const COLUMNS = `"id", "app_id", "message_id", "type", "event", "user_id", "anonymous_id", "group_id", "properties", "traits", "context", "timestamp", "received_at"`;

/**
 * Events in month partitions of received_at (src/core/event-partitions.ts says why a month): the table is rebuilt
 * as a partitioned one and every row copied (ids and the id sequence kept), with partitions from the oldest stored
 * month through two months ahead and a default partition for anything outside them. (app, messageId) is unique
 * within each partition; the writer checks the 7 days before across a boundary. Also the daily rollup the signal
 * queue and the volume chart read (filled by the maintenance from the watermark up; readers add what is above it).
 */
export class Migration20261205213000_event_partitions extends Migration {
  override name = 'Migration20261205213000_event_partitions';

  override up(): void | Promise<void> {
    // Month bounds in UTC, whatever the server's time zone (they must match the maintenance's names and bounds).
    this.addSql(`set local time zone 'UTC';`);
    this.addSql(`alter table "events" rename to "events_unpartitioned";`);
    this.addSql(`alter table "events_unpartitioned" drop constraint "events_app_id_foreign";`);
    this.addSql(`alter table "events_unpartitioned" drop constraint "events_app_id_message_id_unique";`);
    this.addSql(`alter table "events_unpartitioned" drop constraint "events_pkey";`);
    for (const name of INDEX_NAMES) this.addSql(`drop index "${name}";`);
    this.addSql(`alter table "events_unpartitioned" alter column "id" drop default;`);
    this.addSql(`alter sequence "events_id_seq" owned by none;`);
    this.addSql(
      `create table "events" ("id" bigint not null default nextval('events_id_seq'), ${COLUMN_TYPES}, primary key ("id", "received_at")) partition by range ("received_at");`,
    );
    this.addSql(`create table "events_default" partition of "events" default;`);
    this.addSql(`create unique index "events_default_app_id_message_id" on "events_default" ("app_id", "message_id");`);
    this.addSql(`do $$
      declare
        month timestamptz := date_trunc('month', least(coalesce((select min(received_at) from events_unpartitioned), now()), now()));
        last timestamptz := date_trunc('month', now()) + interval '2 months';
        name text;
      begin
        while month <= last loop
          name := 'events_y' || to_char(month, 'YYYY') || 'm' || to_char(month, 'MM');
          execute format('create table %I partition of events for values from (%L) to (%L)', name, month, month + interval '1 month');
          execute format('create unique index %I on %I (app_id, message_id)', name || '_app_id_message_id', name);
          month := month + interval '1 month';
        end loop;
      end $$;`);
    this.addSql(`insert into "events" (${COLUMNS}) select ${COLUMNS} from "events_unpartitioned";`);
    this.addSql(`drop table "events_unpartitioned";`);
    this.addSql(`alter sequence "events_id_seq" owned by "events"."id";`);
    for (const statement of INDEXES) this.addSql(statement);
    this.addSql(`alter table "events" add constraint "events_app_id_foreign" foreign key ("app_id") references "apps" ("id") on delete cascade;`);

    this.addSql(
      `create table "event_day_counts" ("app_id" varchar(255) not null, "day" date not null, "type" varchar(16) not null, "event" varchar(200) not null, "events" bigint not null, "first_seen" timestamptz not null, "last_seen" timestamptz not null, primary key ("app_id", "day", "type", "event"));`,
    );
    this.addSql(
      `create table "event_rollup_watermark" ("id" int not null default 1, "rolled_up_to_id" bigint not null, "rolled_up_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`insert into "event_rollup_watermark" ("id", "rolled_up_to_id", "rolled_up_at") values (1, 0, now());`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "event_rollup_watermark";`);
    this.addSql(`drop table if exists "event_day_counts";`);
    this.addSql(`alter table "events" rename to "events_partitioned";`);
    this.addSql(`alter table "events_partitioned" drop constraint "events_app_id_foreign";`);
    for (const name of INDEX_NAMES) this.addSql(`drop index "${name}";`);
    this.addSql(`alter table "events_partitioned" alter column "id" drop default;`);
    this.addSql(`alter sequence "events_id_seq" owned by none;`);
    this.addSql(`create table "events" ("id" bigint not null default nextval('events_id_seq') primary key, ${COLUMN_TYPES});`);
    this.addSql(`insert into "events" (${COLUMNS}) select ${COLUMNS} from "events_partitioned";`);
    this.addSql(`drop table "events_partitioned";`);
    this.addSql(`alter sequence "events_id_seq" owned by "events"."id";`);
    for (const statement of INDEXES) this.addSql(statement);
    this.addSql(`alter table "events" add constraint "events_app_id_message_id_unique" unique ("app_id", "message_id");`);
    this.addSql(`alter table "events" add constraint "events_app_id_foreign" foreign key ("app_id") references "apps" ("id") on delete cascade;`);
  }
}
