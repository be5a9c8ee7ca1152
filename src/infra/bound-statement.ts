/**
 * A statement with bound parameters ($1, $2, …), on the entity manager's connection or its open
 * transaction. MikroORM's `execute` writes every parameter into the SQL text, escaped character
 * by character; for the ingest path's row sets (one JSON parameter, tens of kilobytes) that
 * escaping was a tenth of the API's CPU and PostgreSQL then lexed the literal back. Bound, the
 * value travels as it is (the extended protocol), the SQL text stays the same from call to call,
 * and a text registered with prepareStatement (prepared-statements.ts) is parsed once per connection.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { CompiledQuery, type Kysely, type QueryResult } from 'kysely';

export async function executeBound<Row>(em: EntityManager, sql: string, parameters: readonly unknown[]): Promise<Row[]> {
  // Inside em.transactional the context is Kysely's transaction, itself a Kysely instance.
  const executor: Kysely<unknown> = em.getTransactionContext<Kysely<unknown>>() ?? em.getConnection().getClient();
  const result: QueryResult<Row> = await executor.executeQuery(CompiledQuery.raw(sql, [...parameters]));
  return [...result.rows];
}
