/**
 * Flat as it grows (issue 32): the same figures on a near-empty events table, then at 1 million and at 10 million
 * stored events: ingest's events/s on `/v1/batch`, and the p95 of the signal queue, a trial's timeline, segment sizes
 * and conversion drivers for one app of 2,000 seeded trials. The bulk belongs to 100 other apps over the last 180
 * days, written by the database itself (INSERT … SELECT from generate_series: no client, no API), into the month
 * partitions the maintenance makes; the maintenance's rollup runs after each step, as its hourly schedule would.
 * Also the disk a million events take (heap, indexes, TOAST), for README's Deployment section.
 */
import pg from 'pg';
import { openOrm } from '../../src/infra/orm.ts';
import { ENTITIES } from '../../src/modules/entities.ts';
import { ensureEventPartitions, rollUpEvents } from '../../src/modules/ingest/event-partitions.ts';
import { seedHistory } from './insights.ts';
import { DAY_COUNTS } from '../../src/modules/ingest/volume.queries.ts';
import { CONNECTIONS, DURATION_S, graphql, load, newApp, p95, trackMessages, UNLIMITED, type Product, type Result } from '../support.ts';

const STEPS = (process.env.BENCH_SCALE_STEPS ?? '1000000,10000000').split(',').map(Number);
const TRIALS = 2000;
const RUNS = 30;
const BULK_APPS = 100;
const BULK_DAYS = 180;
const CHUNK = 1_000_000;

/** The ORM's `?` placeholders as pg's `$1`, `$2`, … */
const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

const label = (events: number) => (events >= 1_000_000 ? `${events / 1_000_000}m` : `${events / 1000}k`);

export async function scaleFigures({ url, databaseUrl }: Product): Promise<Result[]> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const orm = await openOrm(databaseUrl, ENTITIES, 2);
  try {
    const read = await newApp(url, {});
    const to = new Date();
    // The months the data spans first, as the maintenance keeps them: every stage reads the same layout.
    await ensureEventPartitions(orm, to, new Date(to.getTime() - BULK_DAYS * 86_400_000));
    await seedHistory(db, read.appId, TRIALS);
    const ingest = await newApp(url, UNLIMITED);
    const range = { a: read.appId, from: new Date(to.getTime() - 90 * 86_400_000).toISOString(), to: to.toISOString() };
    const ask = (query: string, variables: Record<string, unknown>) => async () => {
      const { data } = await graphql(url, read.apiKey, query, variables);
      if (!data) throw new Error(`query failed: ${query}`);
    };
    const reads: Record<string, () => Promise<void>> = {
      signal_queue: ask(`query($a: ID!) { signalQueue(appId: $a) { type event count firstSeen lastSeen } }`, { a: read.appId }),
      timeline: ask(`query($a: ID!) { trial(appId: $a, userId: "user-001000") { events(first: 20) { edges { node { event timestamp } } } } }`, {
        a: read.appId,
      }),
      segment_sizes: ask(
        `query($a: ID!, $from: DateTime!, $to: DateTime!) { segmentSizes(appId: $a, from: $from, to: $to, bucket: day) { start counts { key trials } } }`,
        range,
      ),
      conversion_drivers: ask(
        `query($a: ID!, $from: DateTime!, $to: DateTime!) { conversionDrivers(appId: $a, from: $from, to: $to) { finishedTrials drivers { event difference } } }`,
        range,
      ),
    };
    const auth = `Basic ${Buffer.from(`${ingest.writeKey}:`).toString('base64')}`;
    let sequence = 0;
    const figures = async (step: string) => {
      await rollUpEvents(orm);
      // As a table that grew over months would be: vacuumed and analysed, the bulk's writes checkpointed (else the
      // figure right after seeding measures the checkpoint's I/O and autovacuum, not the table's size).
      await db.query('vacuum analyze events');
      await db.query('checkpoint');
      const batch = await load({
        url: `${url}/v1/batch`,
        headers: { 'content-type': 'application/json', authorization: auth },
        requests: [
          {
            method: 'POST',
            path: '/v1/batch',
            setupRequest: (request: any) => ({ ...request, body: JSON.stringify({ batch: trackMessages(`scale-${step}`, 100, sequence++) }) }),
          },
        ],
      });
      if (batch.non2xx || batch.errors) throw new Error(`/v1/batch at ${step}: ${batch.non2xx} non-2xx, ${batch.errors} errors`);
      const measured: Record<string, number> = { 'ingest_batch.events_per_s': Math.round(batch.requests.average * 100) };
      // The load's rows analysed, as autovacuum does within its minute: on the near-empty table the load is most of the
      // month's partition, and the statistics from before it made the signal queue's live part scan it (67 ms, not 6).
      await db.query('analyze events');
      for (const [name, run] of Object.entries(reads)) measured[`${name}.p95_ms`] = await p95(run, RUNS);
      // Whether PostgreSQL compiled the signal queue's statement (JIT), which costs tens of ms a run.
      const [{ 'QUERY PLAN': plan }] = (
        await db.query(`explain (analyze, format json) select * from (${numbered(DAY_COUNTS)}) d`, [read.appId, '1970-01-01', read.appId, '1970-01-01'])
      ).rows;
      console.error(`scale ${step}: signal queue statement ${plan[0]['Execution Time']} ms, JIT ${plan[0].JIT ? 'used' : 'not used'}`);
      const [{ n, bytes }] = (
        await db.query(
          `select count(*)::bigint as n, pg_total_relation_size('events') + (select coalesce(sum(pg_total_relation_size(c.oid)), 0) from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'events'::regclass) as bytes from events`,
        )
      ).rows;
      console.error(`scale ${step}: ${n} events, ${Math.round(Number(bytes) / 1e6)} MB: ${JSON.stringify(measured)}`);
      return { measured, events: Number(n), bytes: Number(bytes) };
    };

    const empty = await figures('empty');
    // The bulk's apps, and the months it spans made first (as the maintenance keeps them ahead).
    await db.query(
      `insert into apps (id, name, write_key_hash, server_token_hash, created_at) select 'app_bulk_' || i, 'bulk ' || i, 'bulk-w-' || i, 'bulk-s-' || i, now() from generate_series(1, ${BULK_APPS}) i`,
    );
    const results: Result[] = [];
    let stored = empty.events;
    for (const target of STEPS) {
      const seeding = performance.now();
      for (let from = stored; from < target; from += CHUNK) {
        const n = Math.min(CHUNK, target - from);
        await db.query(
          `insert into events (app_id, message_id, type, event, user_id, properties, traits, context, timestamp, received_at)
           select 'app_bulk_' || (1 + i % ${BULK_APPS}), 'bulk-' || i, 'track', (array['Report Viewed','Clicked','Invited','Exported','Dashboard Opened','Billing Viewed','Searched','Shared'])[1 + i % 8],
                  'bulk-user-' || (i % 200000), '{"plan":"pro","source":"bench"}', '{}', '{"library":{"name":"analytics-node"}}', at, at
             from generate_series(${from + 1}, ${from + n}) i, lateral (select now() - interval '2 hours' - ((i::bigint * 7919) % ${BULK_DAYS * 86400}) * interval '1 second' as at) t`,
        );
        stored += n;
      }
      console.error(`scale: seeded to ${target} events in ${Math.round((performance.now() - seeding) / 1000)} s`);
      const at = await figures(label(target));
      stored = at.events;
      for (const [name, value] of Object.entries(at.measured)) {
        results.push({
          name: `scale.${name}.at_${label(target)}`,
          value,
          unit: name.endsWith('events_per_s') ? 'events/s' : 'ms',
          baseline: empty.measured[name]!,
          note: `${at.events} events stored (${Math.round(at.bytes / 1e6)} MB with indexes); baseline: the same figure on ${empty.events} events in the same run (target: within 15 %); ingest: /v1/batch of 100, ${CONNECTIONS} connections, ${DURATION_S} s; reads: p95 of ${RUNS} over GraphQL`,
        });
      }
      results.push({
        name: `scale.disk.mb_per_million_events.at_${label(target)}`,
        value: Math.round((at.bytes - empty.bytes) / ((at.events - empty.events) / 1e6) / 1e6),
        unit: 'MB',
        note: 'heap, TOAST and the indexes of every partition, per million bulk events (8 event names, small properties and context)',
      });
    }
    return results;
  } finally {
    await orm.close(true);
    await db.end();
  }
}
