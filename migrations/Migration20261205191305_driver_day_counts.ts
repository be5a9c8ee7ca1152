import { Migration } from '@mikro-orm/migrations';
import { DRIVER_COUNTS_TRIGGER_DDL } from '../src/modules/insights/outcome-rollup.ddl.ts';

/**
 * Conversion drivers from a rollup: finished trials per start day and event name, kept by a
 * trigger on trial_outcomes, filled from the outcome rows recorded before it.
 */
export class Migration20261205191305_driver_day_counts extends Migration {
  override name = 'Migration20261205191305_driver_day_counts';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "driver_day_counts" ("app_id" varchar(255) not null, "kind" varchar(255) not null, "start_day" date not null, "event" varchar(255) not null, "trials" int not null, "converted" int not null, primary key ("app_id", "kind", "start_day", "event"));`,
    );
    this.addSql(`insert into driver_day_counts (app_id, kind, start_day, event, trials, converted)
      select o.app_id, o.kind, (o.trial_start at time zone 'UTC')::date, e.event, count(*)::int, (count(*) filter (where o.converted))::int
        from trial_outcomes o cross join lateral unnest(array_append(o.events, '')) as e(event)
       group by 1, 2, 3, 4;`);
    this.addSql(DRIVER_COUNTS_TRIGGER_DDL);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists "trial_outcomes_count" on "trial_outcomes";`);
    this.addSql(`drop function if exists "trial_outcomes_trial_outcomes_count_fn"();`);
    this.addSql(`drop table if exists "driver_day_counts" cascade;`);
  }
}
