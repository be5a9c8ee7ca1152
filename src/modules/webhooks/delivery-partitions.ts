/**
 * Weeks of deliveries (issue 32): the maintenance makes the deliveries' and their attempts' week partitions ahead of
 * need and drops whole weeks past DELIVERY_RETENTION, attempts first: never a DELETE row by row. A week with a
 * delivery still pending (in its retry window) waits for it. Rows outside every week land in the default partitions;
 * making their week moves them out.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { attemptsPartitionOf, DELIVERY_PARTITIONS } from '../../core/delivery-partitions.ts';
import { parseIsoDuration } from '../../core/durations.ts';
import { partitionsPastRetention, partitionsToCreate, type TimePartition } from '../../core/time-partitions.ts';
import { boundOf, executor, partitionsOf, rangeOf, type Execute } from '../../infra/partitions.ts';

/** Weeks made ahead of the current one. */
const WEEKS_AHEAD = 2;
const WEEK_MS = 7 * 86_400_000;

/**
 * Makes one week's partitions of both tables, moving the rows the default partitions hold for it, and the attempts'
 * foreign key between the two, in one transaction.
 */
async function createWeek(orm: MikroORM, deliveries: TimePartition): Promise<void> {
  const attempts = attemptsPartitionOf(deliveries);
  await orm.em.fork().transactional(async (em) => {
    const execute = executor(em);
    // Serialises maintenance runs (two workers' schedules, or a start beside a run).
    await execute(`select pg_advisory_xact_lock(hashtext('trialcast:delivery-partitions'))`);
    if ((await execute(`select 1 from pg_class where relname = ?`, [deliveries.name])).length) return;
    // The attempts first: taking their deliveries out of the default partition would delete them (the foreign key's cascade).
    await execute(
      `create temporary table moving_attempts on commit drop as with moved as (delete from delivery_attempts_default where ${rangeOf('delivery_created_at', attempts)} returning *) select * from moved`,
    );
    await execute(
      `create temporary table moving_deliveries on commit drop as with moved as (delete from webhook_deliveries_default where ${rangeOf('created_at', deliveries)} returning *) select * from moved`,
    );
    await execute(`create table "${deliveries.name}" partition of webhook_deliveries ${boundOf(deliveries)}`);
    await execute(`create table "${attempts.name}" partition of delivery_attempts ${boundOf(attempts)}`);
    await execute(`insert into webhook_deliveries select * from moving_deliveries`);
    await execute(`insert into delivery_attempts select * from moving_attempts`);
    await execute(
      `alter table "${attempts.name}" add constraint "${attempts.name}_delivery_foreign" foreign key (delivery_id, delivery_created_at) references "${deliveries.name}" (id, created_at) on delete cascade`,
    );
  });
}

/** Weeks from the oldest the default partition holds (or this one) through WEEKS_AHEAD ahead; returns the names made. */
export async function ensureDeliveryPartitions(orm: MikroORM, now = new Date()): Promise<string[]> {
  const execute = executor(orm.em.fork());
  // (The ORM's raw rows keep timestamps as text.)
  const [oldest] = await execute<Array<{ at: string | null }>>(`select min(created_at) as at from webhook_deliveries_default`);
  const from = new Date(Math.min(now.getTime(), oldest?.at ? Date.parse(oldest.at) : Number.POSITIVE_INFINITY));
  const missing = partitionsToCreate(
    DELIVERY_PARTITIONS,
    await partitionsOf(execute, 'webhook_deliveries'),
    from,
    new Date(now.getTime() + WEEKS_AHEAD * WEEK_MS),
  );
  for (const partition of missing) await createWeek(orm, partition);
  return missing.map((partition) => partition.name);
}

/**
 * Drops the weeks wholly past the retention (ISO-8601; P0D keeps everything) with no delivery pending, each with its
 * attempts; returns how many deliveries went.
 */
export async function dropExpiredDeliveryPartitions(orm: MikroORM, retention: string, now = new Date()): Promise<number> {
  const execute = executor(orm.em.fork());
  const expired = partitionsPastRetention(DELIVERY_PARTITIONS, await partitionsOf(execute, 'webhook_deliveries'), now, parseIsoDuration(retention) ?? 0);
  let dropped = 0;
  const pendingIn = (execute: Execute, week: TimePartition) => execute(`select 1 from "${week.name}" where status = 'pending' limit 1`);
  for (const deliveries of expired) {
    // Only weeks past the retention are read (a pending delivery there is rare: its window outlasted the retention).
    if ((await pendingIn(execute, deliveries)).length) continue;
    const attempts = attemptsPartitionOf(deliveries);
    // Dropping takes the tables' locks for a moment: waiting at most 2 s for them, so recording never queues behind a
    // long read for longer; a week that could not be dropped now is dropped by the next hour's run.
    try {
      dropped += await orm.em.fork().transactional(async (em) => {
        const inTransaction = executor(em);
        await inTransaction(`set local lock_timeout = '2s'`);
        await inTransaction(`lock table "${attempts.name}", "${deliveries.name}" in access exclusive mode`);
        // Again under the lock: a redelivery may have made one of them pending since.
        if ((await pendingIn(inTransaction, deliveries)).length) return 0;
        const [counted] = await inTransaction<Array<{ n: string }>>(`select count(*) as n from "${deliveries.name}"`);
        // The attempts first: their foreign key refers to the week's deliveries.
        await inTransaction(`drop table "${attempts.name}"`);
        await inTransaction(`drop table "${deliveries.name}"`);
        return Number(counted!.n);
      });
    } catch (error) {
      if (!/lock timeout/i.test((error as Error).message)) throw error;
    }
  }
  return dropped;
}

/** One maintenance run (the hourly `prune-deliveries` schedule): weeks ahead, then retention; returns the deliveries dropped. */
export async function maintainDeliveries(orm: MikroORM, retention: string, now = new Date()): Promise<number> {
  await ensureDeliveryPartitions(orm, now);
  return dropExpiredDeliveryPartitions(orm, retention, now);
}
