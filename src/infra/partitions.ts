/** Statements the time-partition maintenance shares (events, webhook deliveries): what a table's partitions are, and their bounds in SQL. */
import type { EntityManager } from '@mikro-orm/postgresql';
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
export const rangeOf = (column: string, partition: TimePartition) => `${column} >= ${literal(partition.from)} and ${column} < ${literal(partition.to)}`;
