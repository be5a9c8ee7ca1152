import { Migration } from '@mikro-orm/migrations';

/** An endpoint's throttle (maxPerSecond) and the two timestamps it decides by (throttle.ts). */
export class Migration20261205182916_endpoint_throttle extends Migration {
  override name = 'Migration20261205182916_endpoint_throttle';

  override up(): void | Promise<void> {
    this.addSql(
      `alter table "webhook_endpoints" add "max_per_second" int null, add "throttle_last_sent_at" timestamptz null, add "throttle_reserved_until" timestamptz null;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "webhook_endpoints" drop column "max_per_second", drop column "throttle_last_sent_at", drop column "throttle_reserved_until";`);
  }
}
