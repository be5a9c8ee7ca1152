/**
 * Insights at a realistic size: an app seeded through SQL with 100,000 trials over 90 days,
 * 500,000 recorded transitions (five a trial) and 2,000,000 events (twenty a trial). Each
 * insight query's p95 over GraphQL with the app's key, beside a plain `select count(*)` of
 * segment_changes timed the same way; the CSV export of every trial beside a count of trials.
 * The plans (EXPLAIN ANALYZE) of the insight statements go to bench/insights-plans.txt.
 */
import { writeFile } from 'node:fs/promises';
import pg from 'pg';
import type { EntityManager } from '@mikro-orm/postgresql';
import { openOrm } from '../../src/infra/orm.ts';
import { ENTITIES } from '../../src/modules/entities.ts';
import { conversionBreakdown, openTrialFacts, segmentMoveDeltas, segmentMoves, timeInSegment } from '../../src/modules/insights/insights.queries.ts';
import { upsertOutcomes } from '../../src/modules/insights/trial-outcomes.ts';
import { graphql, p95, type Product, type Result } from '../support.ts';

const TRIALS = Number(process.env.BENCH_INSIGHT_TRIALS ?? 100_000);
const MOVES_PER_TRIAL = 5;
const EVENTS_PER_TRIAL = 20;
const DAYS = 90;
const RUNS = 30;

/** Five moves a trial: exploring, three of the middle segments (by the trial's number), then an outcome (open for the last two weeks' trials). */
export async function seedHistory(db: pg.Client, appId: string, trials: number): Promise<void> {
  await db.query(
    `insert into trials (id, app_id, user_id, email, trial_start, trial_end, segment, last_sequence, workflow_id, last_activity_at, created_at, updated_at)
     select 'trl_' || $1::text || '_' || i, $1::text, 'user-' || lpad(i::text, 6, '0'), 'user' || i || '@example.com',
            now() - interval '${DAYS} days' + (i * interval '${DAYS} days' / ${trials}), now() - interval '${DAYS} days' + (i * interval '${DAYS} days' / ${trials}) + interval '14 days',
            null, ${MOVES_PER_TRIAL}, 'bench:' || i, now() - interval '${DAYS} days' + (i * interval '${DAYS} days' / ${trials}) + interval '10 days',
            now() - interval '${DAYS} days' + (i * interval '${DAYS} days' / ${trials}), now()
       from generate_series(1, ${trials}) as i`,
    [appId],
  );
  const middle = `(array['found_value','gone_quiet','needs_nudge','on_track_to_convert','slipping_away','last_chance'])`;
  await db.query(
    `with moves as (
       select t.id as trial_id, s as sequence, t.trial_start + (s - 1) * interval '2 days 12 hours' + ((hashtext(t.id || s) & 1023) * interval '1 minute') as occurred_at,
              case when s = 1 then 'exploring'
                   when s = ${MOVES_PER_TRIAL} then (case when t.trial_end > now() then ${middle}[1 + (hashtext(t.id) & 1023) % 6]
                                                          when hashtext(t.id) % 3 = 0 then 'converted' else 'expired' end)
                   else ${middle}[1 + (hashtext(t.id || s) & 1023) % 6] end as new_segment
         from trials t, generate_series(1, ${MOVES_PER_TRIAL}) as s where t.app_id = $1::text)
     insert into segment_changes (id, app_id, trial_id, sequence, old_segment, new_segment, reason, occurred_at)
     select 'sgc_' || trial_id || '_' || sequence, $1::text, trial_id, sequence,
            lag(new_segment) over (partition by trial_id order by sequence), new_segment,
            case when sequence = 1 then 'trial_started' when new_segment = 'converted' then 'converted' when new_segment = 'expired' then 'trial_ended'
                 when new_segment in ('found_value', 'on_track_to_convert') then 'aha_event_received' else 'inactivity' end,
            occurred_at
       from moves`,
    [appId],
  );
  await db.query(
    `update trials t set segment = sc.new_segment from segment_changes sc where sc.trial_id = t.id and sc.sequence = t.last_sequence and t.app_id = $1::text`,
    [appId],
  );
  await db.query(
    `insert into events (app_id, message_id, type, event, user_id, properties, traits, context, timestamp, received_at)
     select $1::text, 'seed-' || t.id || '-' || e, 'track', (array['Report Viewed','Clicked','Invited','Exported','Dashboard Opened'])[1 + e % 5],
            t.user_id, '{}', '{}', '{}', t.trial_start + e * interval '10 hours', t.trial_start + e * interval '10 hours'
       from trials t, generate_series(1, ${EVENTS_PER_TRIAL}) as e where t.app_id = $1::text`,
    [appId],
  );
  // The finished trials' outcome rows, as recording their outcomes writes them.
  await db.query(upsertOutcomes('t.app_id = $1'), [appId]);
  // As autovacuum would in time: the trigger's path updates left a dead version of most trial rows.
  await db.query('vacuum analyze trials, segment_changes, segment_move_hours, events, trial_outcomes, finished_trial_counts');
}

/** An endpoint with a 30 % holdout that every seeded trial was assigned in, as planning its deliveries would have. */
async function holdoutOnEveryTrial(url: string, apiKey: string, db: pg.Client, appId: string): Promise<string> {
  const created = await graphql(
    url,
    apiKey,
    `
      mutation ($i: CreateWebhookEndpointInput!) {
        createWebhookEndpoint(input: $i) {
          endpoint {
            id
          }
          errors {
            message
          }
        }
      }
    `,
    {
      i: { appId, url: 'http://127.0.0.1:9/holdout' },
    },
  );
  const endpointId = created.data.createWebhookEndpoint.endpoint.id as string;
  const started = await graphql(
    url,
    apiKey,
    `
      mutation ($i: StartHoldoutInput!) {
        startHoldout(input: $i) {
          experiment {
            id
          }
        }
      }
    `,
    { i: { endpointId, percent: 30 } },
  );
  await db.query(
    `insert into holdout_assignments (experiment_id, trial_id, held_out, assigned_at)
     select $2::text, id, (hashtext(id) & 1023) < 307, trial_start from trials where app_id = $1::text`,
    [appId, started.data.startHoldout.experiment.id],
  );
  await db.query('vacuum analyze holdout_assignments');
  return endpointId;
}

/** EXPLAIN ANALYZE of each insight statement: the module's own SQL, run through an entity manager that explains instead. */
async function plans(databaseUrl: string, appId: string, from: Date, to: Date): Promise<string> {
  const orm = await openOrm(databaseUrl, ENTITIES);
  try {
    const em = orm.em.fork();
    const connection = em.getConnection();
    const out: string[] = [];
    const explaining = {
      getConnection: () => ({
        execute: async (sql: string, params: unknown[]) => {
          const rows = await connection.execute<Array<Record<string, string>>>(`explain (analyze, buffers) ${sql}`, params);
          out.push(`${sql.replace(/\s+/g, ' ').slice(0, 160)}…\n${rows.map((row) => row['QUERY PLAN']).join('\n')}\n`);
          return [];
        },
      }),
    } as unknown as EntityManager;
    await segmentMoveDeltas(explaining, appId, from, to, 'day', null);
    await segmentMoves(explaining, appId, from, to, null);
    await timeInSegment(explaining, appId, from, to, null);
    await conversionBreakdown(explaining, appId, from, to, null);
    await openTrialFacts(explaining, appId);
    return out.join('\n');
  } finally {
    await orm.close(true);
  }
}

export async function insightQueries({ url, databaseUrl }: Product): Promise<Result[]> {
  const created = await graphql(url, 'tca_bench', 'mutation { createApp(input: {name: "insights bench"}) { app { id } apiKey } }', {});
  const { app, apiKey } = created.data.createApp;
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const seeding = performance.now();
    await seedHistory(db, app.id, TRIALS);
    console.error(`insights: seeded ${TRIALS} trials in ${Math.round((performance.now() - seeding) / 1000)} s`);
    const endpointId = await holdoutOnEveryTrial(url, apiKey, db, app.id);
    const to = new Date();
    const from = new Date(to.getTime() - DAYS * 86_400_000);
    const range = { a: app.id, from: from.toISOString(), to: to.toISOString() };
    const ask = (query: string, variables: Record<string, unknown>) => async () => {
      const { data } = await graphql(url, apiKey, query, variables);
      if (!data) throw new Error(`insight query failed: ${query}`);
    };
    const queries: Array<[string, () => Promise<unknown>]> = [
      [
        'segment_sizes_day',
        ask(
          `query($a: ID!, $from: DateTime!, $to: DateTime!) { segmentSizes(appId: $a, from: $from, to: $to, bucket: day) { start counts { key trials } } }`,
          range,
        ),
      ],
      [
        'segment_sizes_week',
        ask(
          `query($a: ID!, $from: DateTime!, $to: DateTime!) { segmentSizes(appId: $a, from: $from, to: $to, bucket: week) { start counts { key trials } } }`,
          range,
        ),
      ],
      [
        'segment_flow',
        ask(`query($a: ID!, $from: DateTime!, $to: DateTime!) { segmentFlow(appId: $a, from: $from, to: $to) { moves { from to trials } } }`, range),
      ],
      [
        'time_in_segment',
        ask(
          `query($a: ID!, $from: DateTime!, $to: DateTime!) { segmentFlow(appId: $a, from: $from, to: $to) { timeInSegment { segment medianSeconds p90Seconds } } }`,
          range,
        ),
      ],
      [
        'conversion',
        ask(
          `query($a: ID!, $from: DateTime!, $to: DateTime!) { conversion(appId: $a, from: $from, to: $to) { byPath { path trials conversionRate } byReason { reason trials } byCohort { weekStart trials conversionRate } } }`,
          range,
        ),
      ],
      [
        'settings_preview',
        ask(`query($a: ID!) { previewSegmentSettings(input: { appId: $a, inactivityAfter: "P1D" }) { evaluated moves { from to trials } } }`, { a: app.id }),
      ],
      [
        'conversion_drivers',
        ask(
          `query($a: ID!, $from: DateTime!, $to: DateTime!) { conversionDrivers(appId: $a, from: $from, to: $to) { finishedTrials drivers { event difference low high qValue tooFew } } }`,
          range,
        ),
      ],
      [
        'holdout_report',
        ask(
          `query($e: ID!) { holdoutReport(endpointId: $e) { exposed { trials conversionRate } heldOut { trials conversionRate } difference low high pValue neededPerGroup verdict } }`,
          { e: endpointId },
        ),
      ],
      [
        'trial_timeline',
        ask(
          `query($a: ID!) { trial(appId: $a, userId: "user-099990") { events(first: 20) { edges { node { event timestamp } } } changes { reason lastEventBefore { event } deliveries { status } } } }`,
          {
            a: app.id,
          },
        ),
      ],
    ];
    const results: Result[] = [];
    const count = await p95(() => db.query('select count(*) from segment_changes where app_id = $1', [app.id]), RUNS);
    for (const [name, run] of queries) {
      results.push({
        name: `insights.${name}.p95_ms`,
        value: Math.round(await p95(run, RUNS)),
        unit: 'ms',
        baseline: Math.round(count),
        note: `${RUNS} runs over GraphQL; baseline: p95 of select count(*) of the app's ${TRIALS * MOVES_PER_TRIAL} segment_changes`,
      });
    }
    const exportStarted = performance.now();
    const csv = await fetch(`${url}/export/trials.csv?appId=${app.id}`, { headers: { authorization: `Bearer ${apiKey}` } });
    const lines = (await csv.text()).split('\r\n').length - 2;
    const exportMs = performance.now() - exportStarted;
    if (lines !== TRIALS) throw new Error(`the export had ${lines} trials, not ${TRIALS}`);
    const countStarted = performance.now();
    await db.query('select count(*) from trials where app_id = $1', [app.id]);
    results.push({
      name: 'insights.export_csv.ms',
      value: Math.round(exportMs),
      unit: 'ms',
      baseline: Math.round(performance.now() - countStarted),
      note: `every one of ${TRIALS} trials as CSV over HTTP; baseline: select count(*) of them`,
    });
    await writeFile(new URL('../insights-plans.txt', import.meta.url), await plans(databaseUrl, app.id, from, to));
    return results;
  } finally {
    await db.end();
  }
}
