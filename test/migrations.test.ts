import { describe, expect, it } from 'vitest';
import { openOrm } from '../src/infra/orm.ts';
import { createEmptyDatabase, createTestDatabase } from './support/harness.ts';
import { ENTITIES } from '../src/modules/entities.ts';

describe('migrations', () => {
  it('a database built by the committed migrations matches the entities exactly', async () => {
    const orm = await openOrm(await createTestDatabase(), ENTITIES);
    try {
      expect(await orm.migrator.getPending()).toEqual([]);
      const drift = await orm.schema.getUpdateSchemaSQL({ wrap: false });
      expect(drift.trim(), 'entities changed without a migration: run `npm run migration:create`').toBe('');
    } finally {
      await orm.close(true);
    }
  });

  it("a move into a segment only an aha reaches marks its trial's first aha, at the first such move", async () => {
    const orm = await openOrm(await createTestDatabase(), ENTITIES);
    try {
      const sql = (text: string) => orm.em.getConnection().execute(text);
      await sql(`insert into apps (id, name, write_key_hash, server_token_hash, created_at) values ('app_m', 'm', 'w', 's', now())`);
      for (const trial of ['plain', 'nudged', 'bought'])
        await sql(`insert into trials (id, app_id, user_id, trial_start, trial_end, workflow_id, created_at, updated_at)
                   values ('trl_${trial}', 'app_m', '${trial}', now(), now() + interval '1 day', 'w_${trial}', now(), now())`);
      const move = (trial: string, sequence: number, from: string | null, to: string, at: string) =>
        sql(`insert into segment_changes (id, app_id, trial_id, sequence, old_segment, new_segment, reason, occurred_at)
             values ('${trial}_${sequence}', 'app_m', 'trl_${trial}', ${sequence}, ${from === null ? 'null' : `'${from}'`}, '${to}', 'r', '${at}')`);
      await move('plain', 1, null, 'exploring', '2026-11-01T10:00:00Z');
      await move('plain', 2, 'exploring', 'gone_quiet', '2026-11-01T11:00:00Z');
      await move('nudged', 1, null, 'needs_nudge', '2026-11-01T10:00:00Z');
      await move('nudged', 2, 'needs_nudge', 'found_value', '2026-11-01T12:00:00Z');
      await move('bought', 1, null, 'exploring', '2026-11-01T10:00:00Z');
      await move('bought', 2, 'exploring', 'converted', '2026-11-01T13:00:00Z');
      expect(await sql(`select id, segment, to_char(aha_reached_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as aha from trials order by id`)).toEqual([
        { id: 'trl_bought', segment: 'converted', aha: null },
        { id: 'trl_nudged', segment: 'found_value', aha: '2026-11-01 10:00' },
        { id: 'trl_plain', segment: 'gone_quiet', aha: null },
      ]);
    } finally {
      await orm.close(true);
    }
  });

  it('the insight rollups are backfilled from the moves recorded before them, counted per kind of trial since account trials, and finished trials get their outcome rows', async () => {
    // An empty database, migrated up to the migration before the rollups.
    const orm = await openOrm(await createEmptyDatabase(), ENTITIES);
    try {
      await orm.migrator.up({ to: 'Migration20261202000000_insights' });
      const sql = (text: string) => orm.em.getConnection().execute(text);
      await sql(`insert into apps (id, name, write_key_hash, server_token_hash, created_at) values ('app_b', 'b', 'w', 's', now())`);
      await sql(`insert into trials (id, app_id, user_id, trial_start, trial_end, segment, last_sequence, workflow_id, created_at, updated_at)
                 values ('trl_b', 'app_b', 'u', now(), now() + interval '1 day', 'converted', 3, 'w', now(), now())`);
      await sql(`insert into segment_changes (id, app_id, trial_id, sequence, old_segment, new_segment, reason, occurred_at) values
                 ('s1', 'app_b', 'trl_b', 1, null, 'exploring', 'trial_started', '2026-11-01T10:10:00Z'),
                 ('s2', 'app_b', 'trl_b', 2, 'exploring', 'found_value', 'aha_event_received', '2026-11-01T10:50:00Z'),
                 ('s3', 'app_b', 'trl_b', 3, 'found_value', 'converted', 'converted', '2026-11-02T09:00:00Z')`);
      // Account trials came before their insights were counted per kind: one with two moves, recorded then.
      await orm.migrator.up({ to: 'Migration20261205155736_account_trials' });
      await sql(`insert into trials (id, app_id, account_id, trial_start, trial_end, segment, last_sequence, workflow_id, created_at, updated_at)
                 values ('trl_a', 'app_b', 'acme', now(), now() + interval '1 day', 'found_value', 2, 'wa', now(), now())`);
      await sql(`insert into segment_changes (id, app_id, trial_id, sequence, old_segment, new_segment, reason, occurred_at) values
                 ('a1', 'app_b', 'trl_a', 1, null, 'exploring', 'trial_started', '2026-11-01T10:20:00Z'),
                 ('a2', 'app_b', 'trl_a', 2, 'exploring', 'found_value', 'aha_event_received', '2026-11-01T10:40:00Z')`);
      // Events of the person whose trial converted before conversion drivers: one before its outcome, one after.
      await sql(`insert into events (app_id, message_id, type, event, user_id, properties, traits, context, timestamp, received_at) values
                 ('app_b', 'm1', 'track', 'Report Viewed', 'u', '{}', '{}', '{}', '2026-11-01T12:00:00Z', now()),
                 ('app_b', 'm2', 'track', 'Billing Viewed', 'u', '{}', '{}', '{}', '2026-11-03T12:00:00Z', now())`);
      await orm.migrator.up();
      // Finished trials get their outcome rows, with only what they did before the outcome.
      expect(await sql(`select trial_id, kind, converted, events from trial_outcomes`)).toEqual([
        { trial_id: 'trl_b', kind: 'user', converted: true, events: ['Report Viewed'] },
      ]);
      // ...and their daily rollup for conversion drivers, which the trigger keeps from then on.
      const driverDays = () => sql(`select to_char(start_day, 'YYYY-MM-DD') as day, event, trials, converted from driver_day_counts order by event`);
      expect(await driverDays()).toEqual([
        { day: expect.any(String), event: '', trials: 1, converted: 1 },
        { day: expect.any(String), event: 'Report Viewed', trials: 1, converted: 1 },
      ]);
      // ...and conversion's rollup of finished trials: the converted person's, not the account's still open.
      expect(await sql(`select kind, path, reason, outcome, trials from finished_trial_counts`)).toEqual([
        { kind: 'user', path: 'exploring>found_value', reason: 'aha_event_received', outcome: 'converted', trials: 1 },
      ]);
      await sql(`update trial_outcomes set converted = false, events = '{}' where trial_id = 'trl_b'`);
      expect((await driverDays()).map(({ event, trials, converted }) => [event, trials, converted])).toEqual([
        ['', 1, 0],
        ['Report Viewed', 0, 0],
      ]);
      expect(
        await sql(
          `select to_char(hour at time zone 'UTC', 'YYYY-MM-DD HH24') as hour, kind, old_segment, new_segment, moves from segment_move_hours order by 1, 2, new_segment`,
        ),
      ).toEqual([
        { hour: '2026-11-01 10', kind: 'account', old_segment: '', new_segment: 'exploring', moves: 1 },
        { hour: '2026-11-01 10', kind: 'account', old_segment: 'exploring', new_segment: 'found_value', moves: 1 },
        { hour: '2026-11-01 10', kind: 'user', old_segment: '', new_segment: 'exploring', moves: 1 },
        { hour: '2026-11-01 10', kind: 'user', old_segment: 'exploring', new_segment: 'found_value', moves: 1 },
        { hour: '2026-11-02 09', kind: 'user', old_segment: 'found_value', new_segment: 'converted', moves: 1 },
      ]);
      expect(await sql(`select kind, segment, sum(departures)::int as departures from segment_dwell_hours group by 1, 2 order by 1, 2`)).toEqual([
        { kind: 'account', segment: 'exploring', departures: 1 },
        { kind: 'user', segment: 'exploring', departures: 1 },
        { kind: 'user', segment: 'found_value', departures: 1 },
      ]);
      expect(await sql(`select path, last_open_reason from trials order by id`)).toEqual([
        { path: 'exploring>found_value', last_open_reason: 'aha_event_received' },
        { path: 'exploring>found_value', last_open_reason: 'aha_event_received' },
      ]);
      // A move stored now is counted under its trial's kind by the database itself.
      await sql(`insert into segment_changes (id, app_id, trial_id, sequence, old_segment, new_segment, reason, occurred_at)
                 values ('a3', 'app_b', 'trl_a', 3, 'found_value', 'converted', 'converted', '2026-11-03T08:00:00Z')`);
      expect(await sql(`select trial_kind from segment_changes where id = 'a3'`)).toEqual([{ trial_kind: 'account' }]);
      expect(await sql(`select kind, moves from segment_move_hours where hour = '2026-11-03T08:00:00Z'`)).toEqual([{ kind: 'account', moves: 1 }]);
    } finally {
      await orm.close(true);
    }
  });
});
