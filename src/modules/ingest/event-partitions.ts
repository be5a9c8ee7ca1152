/**
 * Months of events (issue 32): the maintenance creates the events table's month partitions ahead of need, rolls
 * closed days up into event_day_counts (what the signal queue and the volume chart read, so they survive a
 * partition's drop), and drops whole partitions past EVENT_RETENTION: never a DELETE row by row.
 * Rows outside every month partition land in `events_default` (nothing fails at a boundary, even if the
 * maintenance did not run); creating their month moves them out of it.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { EVENT_PARTITIONS, partitionsToDrop } from '../../core/event-partitions.ts';
import { parseIsoDuration } from '../../core/durations.ts';
import { partitionsToCreate, type TimePartition } from '../../core/time-partitions.ts';
import { boundOf, createOnce, executor, partitionsOf, takeFromDefault } from '../../infra/partitions.ts';

/** Months created ahead of the current one. */
const MONTHS_AHEAD = 2;
/** Rows newer than this are left to the live count: no transaction still writing them can be missed by the rollup. */
const ROLLUP_LAG = '1 hour';

/** Creates one month's partition, moving any rows the default partition holds for it, in one transaction. */
async function createPartition(orm: MikroORM, partition: TimePartition): Promise<void> {
  await createOnce(orm, 'trialcast:event-partitions', partition.name, async (execute) => {
    const moving = await takeFromDefault(execute, 'events', 'received_at', partition);
    await execute(`create table "${partition.name}" partition of events ${boundOf(partition)}`);
    // (app, messageId) is unique within a partition (a re-sent message is stored once); across a month's
    // boundary the writer's own check within 7 days does it (event-writer.ts).
    await execute(`create unique index "${partition.name}_app_id_message_id" on "${partition.name}" (app_id, message_id)`);
    await execute(`insert into events select * from ${moving}`);
  });
}

/**
 * Partitions from the oldest month the default partition holds (or `earliest`'s, or this month) through
 * MONTHS_AHEAD months ahead; returns the names created.
 */
export async function ensureEventPartitions(orm: MikroORM, now = new Date(), earliest = now): Promise<string[]> {
  const execute = executor(orm.em.fork());
  // (The ORM's raw rows keep timestamps as text.)
  const [oldest] = await execute<Array<{ at: string | null }>>(`select min(received_at) as at from events_default`);
  const from = new Date(Math.min(earliest.getTime(), now.getTime(), oldest?.at ? Date.parse(oldest.at) : Number.POSITIVE_INFINITY));
  const through = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + MONTHS_AHEAD, 1));
  const missing = partitionsToCreate(EVENT_PARTITIONS, await partitionsOf(execute, 'events'), from, through);
  for (const partition of missing) await createPartition(orm, partition);
  return missing.map((partition) => partition.name);
}

/**
 * Adds the events received before the last hour and after the watermark to event_day_counts, and moves the
 * watermark to the highest id added, in one transaction; returns the rollup rows touched. Readers add the live rows
 * (id above the watermark) themselves.
 */
export async function rollUpEvents(orm: MikroORM): Promise<number> {
  return orm.em.fork().transactional(async (em) => {
    const execute = executor(em);
    const [watermark] = await execute<Array<{ rolled_up_to_id: string }>>(`select rolled_up_to_id from event_rollup_watermark for update`);
    const [newest] = await execute<Array<{ max_id: string | null }>>(
      `select max(id) as max_id from events where id > ? and received_at < now() - interval '${ROLLUP_LAG}'`,
      [watermark!.rolled_up_to_id],
    );
    const maxId = newest!.max_id;
    if (maxId === null) return 0;
    const added = await execute<unknown[]>(
      `insert into event_day_counts (app_id, day, type, event, events, first_seen, last_seen)
       select app_id, (received_at at time zone 'UTC')::date, type, coalesce(event, ''), count(*), min(received_at), max(received_at)
         from events where id > ? and id <= ?
        group by 1, 2, 3, 4
       on conflict (app_id, day, type, event) do update set
         events = event_day_counts.events + excluded.events,
         first_seen = least(event_day_counts.first_seen, excluded.first_seen),
         last_seen = greatest(event_day_counts.last_seen, excluded.last_seen)
       returning 1`,
      [watermark!.rolled_up_to_id, maxId],
    );
    await execute(`update event_rollup_watermark set rolled_up_to_id = ?, rolled_up_at = now()`, [maxId]);
    return added.length;
  });
}

/** Drops the month partitions past the retention (ISO-8601; P0D keeps everything) that are rolled up; returns their names. */
export async function dropExpiredEventPartitions(orm: MikroORM, retention: string, now = new Date()): Promise<string[]> {
  const execute = executor(orm.em.fork());
  const retentionMs = parseIsoDuration(retention) ?? 0;
  if (retentionMs <= 0) return [];
  const [watermark] = await execute<Array<{ rolled_up_to_id: string }>>(`select rolled_up_to_id from event_rollup_watermark`);
  const existing = [];
  for (const name of await partitionsOf(execute, 'events')) {
    const [newest] = await execute<Array<{ max_id: string | null }>>(`select max(id) as max_id from "${name}"`);
    existing.push({ name, maxId: newest!.max_id === null ? null : BigInt(newest!.max_id) });
  }
  const expired = partitionsToDrop(existing, now, retentionMs, BigInt(watermark!.rolled_up_to_id));
  const dropped: string[] = [];
  for (const partition of expired) {
    // A whole file gone, no dead rows. Dropping a partition locks the table for a moment (a concurrent detach is not
    // possible beside a default partition): waiting at most 2 s for that lock, so ingest never queues behind a long
    // read for longer; a month that could not be dropped now is dropped by the next hour's run.
    try {
      await orm.em.fork().transactional(async (em) => {
        await em.execute(`set local lock_timeout = '2s'`);
        await em.execute(`drop table "${partition.name}"`);
      });
      dropped.push(partition.name);
    } catch (error) {
      if (!/lock timeout/i.test((error as Error).message)) throw error;
    }
  }
  return dropped;
}

/** One maintenance run: partitions ahead, the rollup, then retention. */
export async function maintainEvents(orm: MikroORM, retention: string): Promise<{ created: string[]; rolledUp: number; dropped: string[] }> {
  const created = await ensureEventPartitions(orm);
  const rolledUp = await rollUpEvents(orm);
  const dropped = await dropExpiredEventPartitions(orm, retention);
  return { created, rolledUp, dropped };
}
