/** Statements the time-partition maintenance shares (events, webhook deliveries): what a table's partitions are, and their bounds in SQL. */
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { TimePartition } from '../core/time-partitions.ts';

export type Execute = <T = Array<Record<string, unknown>>>(sql: string, params?: unknown[]) => Promise<T>;

/** Statements on this entity manager (inside its transaction, when it has one). */
export const executor =
  (em: EntityManager): Execute =>
  <T>(sql: string, params: unknown[] = []) =>
    em.execute(sql, params) as Promise<T>;

/** The names of a partitioned table's partitions (its default partition among them). */
export async function partitionsOf(execute: Execute, table: string): Promise<string[]> {
  const rows = await execute<Array<{ name: string }>>(
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = ?::regclass`,
    [table],
  );
  return rows.map((row) => row.name);
}

const literal = (at: Date) => `'${at.toISOString()}'`;

/** `for values from (…) to (…)`, the partition's bound. */
export const boundOf = (partition: TimePartition) => `for values from (${literal(partition.from)}) to (${literal(partition.to)})`;

/** The rows of `column` the partition holds, as a condition. */
const rangeOf = (column: string, partition: TimePartition) => `${column} >= ${literal(partition.from)} and ${column} < ${literal(partition.to)}`;

/**
 * Runs `make` in one transaction, under the advisory lock named `lock` (two processes' maintenance, or a start beside
 * a run), unless a table named `name` exists already.
 */
export async function createOnce(orm: MikroORM, lock: string, name: string, make: (execute: Execute) => Promise<void>): Promise<void> {
  await orm.em.fork().transactional(async (em) => {
    const execute = executor(em);
    await execute(`select pg_advisory_xact_lock(hashtext(?))`, [lock]);
    if ((await execute(`select 1 from pg_class where relname = ?`, [name])).length) return;
    await make(execute);
  });
}

/**
 * Takes the rows the table's default partition holds for the partition out into a temporary table dropped at commit
 * (the partition cannot be made while they are there); returns that table's name, to insert them back from once the
 * partition exists.
 */
export async function takeFromDefault(execute: Execute, table: string, column: string, partition: TimePartition): Promise<string> {
  const moving = `moving_${table}`;
  await execute(
    `create temporary table ${moving} on commit drop as with moved as (delete from ${table}_default where ${rangeOf(column, partition)} returning *) select * from moved`,
  );
  return moving;
}
