import { Migration } from '@mikro-orm/migrations';

export class Migration20261123013423_delivery_order extends Migration {
  override name = 'Migration20261123013423_delivery_order';

  override up(): void | Promise<void> {
    this.addSql(
      `alter table "webhook_endpoints" add "ordered" boolean not null default true, add "disable_after" varchar(255) not null default 'P5D', add "failing_since" timestamptz null;`,
    );

    this.addSql(`alter table "webhook_deliveries" add "trial_id" varchar(255) null, add "sequence" int null;`);
    this.addSql(`create index "webhook_deliveries_endpoint_id_status_created_at_index" on "webhook_deliveries" ("endpoint_id", "status", "created_at");`);
    this.addSql(`create index "webhook_deliveries_created_at_index" on "webhook_deliveries" ("created_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "webhook_deliveries_endpoint_id_status_created_at_index";`);
    this.addSql(`drop index "webhook_deliveries_created_at_index";`);
    this.addSql(`alter table "webhook_deliveries" drop column "trial_id", drop column "sequence";`);

    this.addSql(`alter table "webhook_endpoints" drop column "ordered", drop column "disable_after", drop column "failing_since";`);
  }
}
