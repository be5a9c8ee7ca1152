import { Migration } from '@mikro-orm/migrations';

/** Holdouts per endpoint: the experiments (one running per endpoint) and each trial's assignment. */
export class Migration20261205184732_holdouts extends Migration {
  override name = 'Migration20261205184732_holdouts';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "holdout_experiments" ("id" varchar(255) not null, "app_id" varchar(255) not null, "endpoint_id" varchar(255) not null, "percent" int not null, "started_at" timestamptz not null, "stopped_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`create unique index "holdout_experiments_one_running" on "holdout_experiments" ("endpoint_id") where "stopped_at" is null;`);

    this.addSql(
      `create table "holdout_assignments" ("experiment_id" varchar(255) not null, "trial_id" varchar(255) not null, "held_out" boolean not null, "assigned_at" timestamptz not null, primary key ("experiment_id", "trial_id"));`,
    );

    this.addSql(
      `alter table "holdout_experiments" add constraint "holdout_experiments_app_id_foreign" foreign key ("app_id") references "apps" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "holdout_experiments" add constraint "holdout_experiments_endpoint_id_foreign" foreign key ("endpoint_id") references "webhook_endpoints" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "holdout_assignments" add constraint "holdout_assignments_experiment_id_foreign" foreign key ("experiment_id") references "holdout_experiments" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "holdout_assignments" add constraint "holdout_assignments_trial_id_foreign" foreign key ("trial_id") references "trials" ("id") on update cascade on delete cascade;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "holdout_assignments" drop constraint "holdout_assignments_experiment_id_foreign";`);

    this.addSql(`drop table if exists "holdout_experiments" cascade;`);
    this.addSql(`drop table if exists "holdout_assignments" cascade;`);
  }
}
