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
import { boundOf, createOnce, executor, partitionsOf, takeFromDefault, type Execute } from '../../infra/partitions.ts';

/** Weeks made ahead of the current one. */
const WEEKS_AHEAD = 2;
const WEEK_MS = 7 * 86_400_000;

/**
 * Makes one week's partitions of both tables, moving the rows the default partitions hold for it, and the attempts'
 * foreign key between the two, in one transaction.
 */
async function createWeek(orm: MikroORM, deliveries: TimePartition): Promise<void> {
  const attempts = attemptsPartitionOf(deliveries);
  await createOnce(orm, 'trialcast:delivery-partitions', deliveries.name, async (execute) => {
    // The attempts first: taking their deliveries out of the default partition would delete them (the foreign key's cascade).
    const movingAttempts = await takeFromDefault(execute, 'delivery_attempts', 'delivery_created_at', attempts);
    const movingDeliveries = await takeFromDefault(execute, 'webhook_deliveries', 'created_at', deliveries);
    await execute(`create table "${deliveries.name}" partition of webhook_deliveries ${boundOf(deliveries)}`);
    await execute(`create table "${attempts.name}" partition of delivery_attempts ${boundOf(attempts)}`);
    await execute(`insert into webhook_deliveries select * from ${movingDeliveries}`);
    await execute(`insert into delivery_attempts select * from ${movingAttempts}`);
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
 * Whether a week holds a pending delivery: looked for endpoint by endpoint through the (endpoint, status, created_at)
 * index, so the check costs index probes, not a read of the week.
 */
async function holdsPending(execute: Execute, week: TimePartition): Promise<boolean> {
  const [row] = await execute<Array<{ pending: boolean }>>(
    `select exists (select 1 from webhook_endpoints e
                     where exists (select 1 from "${week.name}" d where d.endpoint_id = e.id and d.status = 'pending')) as pending`,
  );
  return row!.pending;
}

/**
 * Drops the weeks wholly past the retention (ISO-8601; P0D keeps everything) with no delivery pending, each with its
 * attempts; returns how many deliveries went.
 */
export async function dropExpiredDeliveryPartitions(orm: MikroORM, retention: string, now = new Date()): Promise<number> {
  const execute = executor(orm.em.fork());
  const expired = partitionsPastRetention(DELIVERY_PARTITIONS, await partitionsOf(execute, 'webhook_deliveries'), now, parseIsoDuration(retention) ?? 0);
  let dropped = 0;
  for (const deliveries of expired) {
    // A pending delivery there is rare: its retry window outlasted the retention.
    if (await holdsPending(execute, deliveries)) continue;
    const attempts = attemptsPartitionOf(deliveries);
    // Counted before the lock (a week past the retention gets no new deliveries), so the lock is held only for the drop.
    const [counted] = await execute<Array<{ n: string }>>(`select count(*) as n from "${deliveries.name}"`);
    // Dropping takes the tables' locks for a moment: waiting at most 2 s for them, so recording never queues behind a
    // long read for longer; a week that could not be dropped now is dropped by the next hour's run.
    try {
      const done = await orm.em.fork().transactional(async (em) => {
        const inTransaction = executor(em);
        await inTransaction(`set local lock_timeout = '2s'`);
        // The parents before their partitions, in the order dropping a partition locks them (a query on the parent
        // holds it while it waits for a partition: the other order could deadlock with it).
        await inTransaction(`lock table delivery_attempts, webhook_deliveries in access exclusive mode`);
        // Again under the lock: a redelivery may have made one of them pending since.
        if (await holdsPending(inTransaction, deliveries)) return false;
        // The attempts first: their foreign key refers to the week's deliveries.
        await inTransaction(`drop table "${attempts.name}"`);
        await inTransaction(`drop table "${deliveries.name}"`);
        return true;
      });
      if (done) dropped += Number(counted!.n);
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
