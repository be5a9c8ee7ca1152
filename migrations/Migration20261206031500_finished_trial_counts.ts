import { Migration } from '@mikro-orm/migrations';
import { FINISHED_TRIAL_COUNTS_TRIGGER_DDL } from '../src/modules/trials/finished-rollup.ddl.ts';

/**
 * Conversion from a rollup: finished trials per start day, kind, path, last open reason and outcome, kept by a trigger
 * on trials, filled from the finished trials there are. (Conversion read every trial of its range: 2.3× a count of the
 * app's moves at 100,000 trials.)
 */
export class Migration20261206031500_finished_trial_counts extends Migration {
  override name = 'Migration20261206031500_finished_trial_counts';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "finished_trial_counts" ("app_id" varchar(255) not null, "kind" varchar(255) not null, "start_day" date not null, "path" text not null, "reason" varchar(255) not null, "outcome" varchar(255) not null, "trials" int not null, primary key ("app_id", "kind", "start_day", "path", "reason", "outcome"));`,
    );
    this.addSql(`insert into finished_trial_counts (app_id, kind, start_day, path, reason, outcome, trials)
      select app_id, case when account_id is null then 'user' else 'account' end, (trial_start at time zone 'UTC')::date, path,
             coalesce(last_open_reason, ''), segment, count(*)::int
        from trials where segment in ('converted', 'expired') group by 1, 2, 3, 4, 5, 6;`);
    this.addSql(FINISHED_TRIAL_COUNTS_TRIGGER_DDL);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists "trials_finished_count" on "trials";`);
    this.addSql(`drop function if exists "trials_trials_finished_count_fn"();`);
    this.addSql(`drop table if exists "finished_trial_counts" cascade;`);
  }
}
