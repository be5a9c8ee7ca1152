import { Migration } from '@mikro-orm/migrations';

export class Migration20261122143027_webhooks extends Migration {
  override name = 'Migration20261122143027_webhooks';

  override up(): void | Promise<void> {
    this.addSql(
      `alter table "webhook_endpoints" add "previous_secret" varchar(255) null, add "previous_secret_expires_at" timestamptz null, add "timeout_ms" int not null default 15000, add "retry_schedule" jsonb not null, add "disabled_reason" varchar(255) null;`,
    );

    this.addSql(`alter table "webhook_deliveries" drop column "payload";`);
    this.addSql(
      `alter table "webhook_deliveries" add "body" text not null, add "segment_change_id" varchar(255) null, add "attempt_count" int not null default 0;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "webhook_deliveries" drop column "body", drop column "segment_change_id", drop column "attempt_count";`);
    this.addSql(`alter table "webhook_deliveries" add "payload" jsonb not null;`);

    this.addSql(
      `alter table "webhook_endpoints" drop column "previous_secret", drop column "previous_secret_expires_at", drop column "timeout_ms", drop column "retry_schedule", drop column "disabled_reason";`,
    );
  }
}
