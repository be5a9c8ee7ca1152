import { Migration } from '@mikro-orm/migrations';

const DELIVERY_INDEXES = [
  `create index "webhook_deliveries_endpoint_id_created_at_index" on "webhook_deliveries" ("endpoint_id", "created_at");`,
  `create index "webhook_deliveries_endpoint_id_status_created_at_index" on "webhook_deliveries" ("endpoint_id", "status", "created_at");`,
  `create index "webhook_deliveries_trial_id_status_index" on "webhook_deliveries" ("trial_id", "status");`,
  `create index "webhook_deliveries_segment_change_id_index" on "webhook_deliveries" ("segment_change_id");`,
];
/** Only the row-by-row retention read it; the partitions replace it (every index is written by each status change). */
const CREATED_AT_INDEX = `create index "webhook_deliveries_created_at_index" on "webhook_deliveries" ("created_at");`;
const ENDPOINT_FOREIGN_KEY = `alter table "webhook_deliveries" add constraint "webhook_deliveries_endpoint_id_foreign" foreign key ("endpoint_id") references "webhook_endpoints" ("id") on delete cascade;`;
const ATTEMPT_COLUMNS = `"id", "delivery_id", "attempted_at", "duration_ms", "status_code", "response_headers", "response_body", "error"`;

/**
 * Webhook deliveries and their attempts in week partitions of the delivery's created_at (src/core/delivery-partitions.ts
 * says why a week): both tables are rebuilt as partitioned ones and every row copied, with partitions from the oldest
 * delivery's week through two weeks ahead and a default partition for anything outside them. An attempt carries its
 * delivery's created_at, so a week's attempts are in the same week's partition and the two go together; its foreign
 * key (both columns, on delete cascade) is made between each week's two partitions (webhook-delivery.entity.ts says why). A delivery id stays unique by how deliveries are planned (each insert guarded: planning.ts,
 * segment-change-recording.ts), not by an index of its own in every week: each status change writes every index.
 */
export class Migration20261206060000_delivery_partitions extends Migration {
  override name = 'Migration20261206060000_delivery_partitions';

  override up(): void | Promise<void> {
    // Week bounds in UTC, whatever the server's time zone (they must match the maintenance's names and bounds).
    this.addSql(`set local time zone 'UTC';`);
    // Milliseconds, as a JavaScript Date holds the key (src/modules/webhooks/webhook-delivery.entity.ts); a partition
    // key's type cannot change later.
    this.addSql(`alter table "webhook_deliveries" alter column "created_at" type timestamptz(3);`);
    this.addSql(`alter table "delivery_attempts" rename to "delivery_attempts_unpartitioned";`);
    this.addSql(`alter table "webhook_deliveries" rename to "webhook_deliveries_unpartitioned";`);
    this.addSql(`create table "webhook_deliveries" (like "webhook_deliveries_unpartitioned" including defaults) partition by range ("created_at");`);
    this.addSql(`create table "webhook_deliveries_default" partition of "webhook_deliveries" default;`);
    this.addSql(
      `create table "delivery_attempts" (like "delivery_attempts_unpartitioned" including defaults, "delivery_created_at" timestamptz(3) not null) partition by range ("delivery_created_at");`,
    );
    this.addSql(`create table "delivery_attempts_default" partition of "delivery_attempts" default;`);
    this.addSql(`do $$
      declare
        week timestamptz := date_trunc('week', least(coalesce((select min(created_at) from webhook_deliveries_unpartitioned), now()), now()));
        last timestamptz := date_trunc('week', now()) + interval '2 weeks';
        suffix text;
      begin
        while week <= last loop
          suffix := '_w' || to_char(week, 'YYYYMMDD');
          execute format('create table %I partition of webhook_deliveries for values from (%L) to (%L)', 'webhook_deliveries' || suffix, week, week + interval '1 week');
          execute format('create table %I partition of delivery_attempts for values from (%L) to (%L)', 'delivery_attempts' || suffix, week, week + interval '1 week');
          week := week + interval '1 week';
        end loop;
      end $$;`);
    this.addSql(`insert into "webhook_deliveries" select * from "webhook_deliveries_unpartitioned";`);
    this.addSql(
      `insert into "delivery_attempts" (${ATTEMPT_COLUMNS}, "delivery_created_at") select a.*, d."created_at" from "delivery_attempts_unpartitioned" a join "webhook_deliveries_unpartitioned" d on d."id" = a."delivery_id";`,
    );
    this.addSql(`drop table "delivery_attempts_unpartitioned";`);
    this.addSql(`drop table "webhook_deliveries_unpartitioned";`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_pkey" primary key ("id", "created_at");`);
    for (const statement of DELIVERY_INDEXES) this.addSql(statement);
    this.addSql(ENDPOINT_FOREIGN_KEY);
    this.addSql(`alter table "delivery_attempts" add constraint "delivery_attempts_pkey" primary key ("id", "delivery_id", "delivery_created_at");`);
    this.addSql(`create index "delivery_attempts_delivery_attempted_at_index" on "delivery_attempts" ("delivery_id", "delivery_created_at", "attempted_at");`);
    // The attempts' foreign key, week by week: each attempts partition to the same week's deliveries partition.
    this.addSql(`do $$
      declare
        attempts text;
      begin
        for attempts in select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'delivery_attempts'::regclass loop
          execute format('alter table %I add constraint %I foreign key (delivery_id, delivery_created_at) references %I (id, created_at) on delete cascade',
            attempts, attempts || '_delivery_foreign', replace(attempts, 'delivery_attempts', 'webhook_deliveries'));
        end loop;
      end $$;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "delivery_attempts" rename to "delivery_attempts_partitioned";`);
    this.addSql(`alter table "webhook_deliveries" rename to "webhook_deliveries_partitioned";`);
    this.addSql(`create table "webhook_deliveries" (like "webhook_deliveries_partitioned" including defaults);`);
    this.addSql(
      `create table "delivery_attempts" ("id" varchar(255) not null, "delivery_id" varchar(255) not null, "attempted_at" timestamptz not null, "duration_ms" int not null, "status_code" int null, "response_headers" jsonb null, "response_body" text null, "error" text null);`,
    );
    // A delivery id kept in two weeks (only possible across a boundary) comes back once, its earliest.
    this.addSql(`insert into "webhook_deliveries" select distinct on ("id") * from "webhook_deliveries_partitioned" order by "id", "created_at";`);
    this.addSql(
      `insert into "delivery_attempts" (${ATTEMPT_COLUMNS}) select ${ATTEMPT_COLUMNS} from "delivery_attempts_partitioned" where ("delivery_id", "delivery_created_at") in (select "id", "created_at" from "webhook_deliveries");`,
    );
    this.addSql(`drop table "delivery_attempts_partitioned";`);
    this.addSql(`drop table "webhook_deliveries_partitioned";`);
    this.addSql(`alter table "webhook_deliveries" alter column "created_at" type timestamptz;`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_pkey" primary key ("id");`);
    for (const statement of [...DELIVERY_INDEXES, CREATED_AT_INDEX]) this.addSql(statement);
    this.addSql(ENDPOINT_FOREIGN_KEY);
    this.addSql(`alter table "delivery_attempts" add constraint "delivery_attempts_pkey" primary key ("id");`);
    this.addSql(`create index "delivery_attempts_delivery_id_attempted_at_index" on "delivery_attempts" ("delivery_id", "attempted_at");`);
    this.addSql(
      `alter table "delivery_attempts" add constraint "delivery_attempts_delivery_id_foreign" foreign key ("delivery_id") references "webhook_deliveries" ("id") on delete cascade;`,
    );
  }
}
