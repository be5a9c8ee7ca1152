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

/** Events per name and UTC day over the last `days` days, newest day first. */
export async function eventVolume(em: EntityManager, appId: string, days: number): Promise<VolumeRow[]> {
  const rows: Array<{ day: string; type: string; event: string | null; count: string }> = await em.execute(
    `select to_char(date_trunc('day', received_at at time zone 'UTC'), 'YYYY-MM-DD') as day, type, event, count(*) as count
     from events where app_id = ? and received_at > now() - make_interval(days => ?)
     group by 1, 2, 3 order by 1 desc, 4 desc`,
    [appId, days],
  );
  return rows.map((row) => ({ ...row, count: Number(row.count) }));
}

/** Every event name seen, most frequent first (at most 500). */
export async function signalQueue(em: EntityManager, appId: string): Promise<SignalRow[]> {
  const rows: Array<{ type: string; event: string | null; count: string; first_seen: Date; last_seen: Date }> = await em.execute(
    `select type, event, count(*) as count, min(received_at) as first_seen, max(received_at) as last_seen
     from events where app_id = ? group by 1, 2 order by 3 desc limit 500`,
    [appId],
  );
  return rows.map((row) => ({ type: row.type, event: row.event, count: Number(row.count), firstSeen: row.first_seen, lastSeen: row.last_seen }));
}
