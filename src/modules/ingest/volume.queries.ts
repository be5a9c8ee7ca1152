/** What an app's events look like in aggregate: volume per name and day, and the signal queue. */
import type { EntityManager } from '@mikro-orm/postgresql';

export interface VolumeRow {
  day: string;
  type: string;
  event: string | null;
  count: number;
}

export interface SignalRow {
  type: string;
  event: string | null;
  count: number;
  firstSeen: Date;
  lastSeen: Date;
}

/**
 * Both read the daily rollup up to its watermark and count the events above it live, in one statement (one
 * snapshot): the same numbers before and after a month's partition is dropped (event-partitions.ts).
 */
// The live rows are found by the app's receipt-time index: rows above the watermark were received at most an hour
// before it was set (the rollup's lag), so two hours before it bound them (until a first rollup, nothing does).
export const DAY_COUNTS = `
  with watermark as (
    select rolled_up_to_id as id, case when rolled_up_to_id = 0 then '-infinity'::timestamptz else rolled_up_at - interval '2 hours' end as live_since
      from event_rollup_watermark)
  select day, type, event, events, first_seen, last_seen from event_day_counts where app_id = ? and day >= ?::date
  union all
  select (received_at at time zone 'UTC')::date, type, coalesce(event, ''), count(*), min(received_at), max(received_at)
    from events where app_id = ? and id > (select id from watermark)
     and received_at >= greatest(?::timestamptz, (select live_since from watermark))
   group by 1, 2, 3`;

/** Events per name and UTC day, from the day `days` days ago (whole UTC days) to today, newest day first. */
export async function eventVolume(em: EntityManager, appId: string, days: number): Promise<VolumeRow[]> {
  const since = new Date(Date.now() - days * 86_400_000);
  const rows: Array<{ day: string; type: string; event: string; count: string }> = await em.execute(
    `select to_char(day, 'YYYY-MM-DD') as day, type, event, sum(events) as count from (${DAY_COUNTS}) d group by 1, 2, 3 order by 1 desc, 4 desc`,
    [appId, since.toISOString().slice(0, 10), appId, since.toISOString().slice(0, 10)],
  );
  return rows.map((row) => ({ day: row.day, type: row.type, event: row.event === '' ? null : row.event, count: Number(row.count) }));
}

/** Every event name seen, most frequent first (at most 500). */
export async function signalQueue(em: EntityManager, appId: string): Promise<SignalRow[]> {
  // (The ORM's raw rows keep timestamps as text.)
  const rows: Array<{ type: string; event: string; count: string; first_seen: string; last_seen: string }> = await em.execute(
    `select type, event, sum(events) as count, min(first_seen) as first_seen, max(last_seen) as last_seen from (${DAY_COUNTS}) d
      group by 1, 2 order by 3 desc limit 500`,
    [appId, '1970-01-01', appId, '1970-01-01'],
  );
  return rows.map((row) => ({
    type: row.type,
    event: row.event === '' ? null : row.event,
    count: Number(row.count),
    firstSeen: new Date(row.first_seen),
    lastSeen: new Date(row.last_seen),
  }));
}
