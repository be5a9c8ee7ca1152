import { Migration } from '@mikro-orm/migrations';

/**
 * Finished trials for conversion drivers: one row each, with the event names done before the
 * outcome; those finished before this migration are filled in from their events.
 */
export class Migration20261205184413_trial_outcomes extends Migration {
  override name = 'Migration20261205184413_trial_outcomes';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "trial_outcomes" ("trial_id" varchar(255) not null, "app_id" varchar(255) not null, "kind" varchar(16) not null, "trial_start" timestamptz not null, "outcome_at" timestamptz not null, "converted" boolean not null, "events" text[] not null, primary key ("trial_id"));`,
    );
    this.addSql(`create index "trial_outcomes_app_id_kind_trial_start_index" on "trial_outcomes" ("app_id", "kind", "trial_start");`);

    this.addSql(
      `alter table "trial_outcomes" add constraint "trial_outcomes_trial_id_foreign" foreign key ("trial_id") references "trials" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "trial_outcomes" add constraint "trial_outcomes_app_id_foreign" foreign key ("app_id") references "apps" ("id") on delete cascade;`,
    );
    this.addSql(`insert into trial_outcomes (trial_id, app_id, kind, trial_start, outcome_at, converted, events)
      select t.id, t.app_id, case when t.account_id is null then 'user' else 'account' end, t.trial_start, c.occurred_at, t.segment = 'converted',
             coalesce((select array_agg(distinct e.event order by e.event) from events e
                              where e.app_id = t.app_id and e.type = 'track' and e.event is not null and e.timestamp < c.occurred_at
                                and e.user_id = any(case when t.account_id is null then array[t.user_id]
                                                         else array(select m.user_id from account_members m where m.app_id = t.app_id and m.account_id = t.account_id) end)
                                and (t.account_id is null or e.group_id is null or e.group_id = t.account_id)), '{}')
      from trials t join segment_changes c on c.trial_id = t.id and c.sequence = t.last_sequence
      where t.segment in ('converted', 'expired');`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "trial_outcomes" cascade;`);
  }
}
