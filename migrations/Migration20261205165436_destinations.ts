import { Migration } from '@mikro-orm/migrations';

/** Destinations: an endpoint's format (`standard` for every endpoint before) and its sealed credentials. */
export class Migration20261205165436_destinations extends Migration {
  override name = 'Migration20261205165436_destinations';

  override up(): void | Promise<void> {
    this.addSql(`alter table "webhook_endpoints" add "format" varchar(255) not null default 'standard', add "destination" text null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "webhook_endpoints" drop column "format", drop column "destination";`);
  }
}
