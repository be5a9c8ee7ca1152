import { fileURLToPath } from 'node:url';
import { defineConfig, MikroORM, type EntitySchema } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import pg from 'pg';
import { PreparingClient } from './prepared-statements.ts';
import { StartupError } from '../errors.ts';

export { MikroORM };
export const migrationsDir = fileURLToPath(new URL('../../migrations', import.meta.url));

/** The modules' entities are handed in (src/modules/entities.ts): infrastructure imports no module. */
export type Entities = ReadonlyArray<EntitySchema<any, any>>;

export function ormConfig(clientUrl: string, entities: Entities, poolMax = 20) {
  return defineConfig({
    clientUrl,
    entities: [...entities],
    extensions: [Migrator],
    // A connection idle for a minute closes (pg-pool's default is 10 s): under bursts of moves a 10-s lull closed the
    // pool's clients and the next burst opened new ones, each a new backend whose first run of every named statement
    // is planned again (23 sessions in the bench's 20-s load at 200/s; the ingest statement plans in 2 ms).
    pool: { max: poolMax, idleTimeoutMillis: 60_000 },
    // The pool's clients send the hot statements as named prepared statements (prepared-statements.ts).
    // A query waits at most 5 s for a pooled connection (or a new one to open): an exhausted or unreachable
    // database is a clear 503, not a request held open.
    driverOptions: { Client: PreparingClient, connectionTimeoutMillis: 5000 },
    // Entities are plain schemas; there is nothing for a folder scan or reflection to find.
    discovery: { warnWhenNoEntities: false },
    migrations: {
      path: migrationsDir,
      glob: '!(*.d).{js,ts}',
      emit: 'ts',
      // The database is the source of truth for diffs; no snapshot file to drift.
      snapshot: false,
      silent: true,
    },
  });
}

function describeTarget(clientUrl: string): string {
  const url = new URL(clientUrl);
  return `${url.hostname}:${url.port || 5432}${url.pathname}`;
}

/** Opens the ORM and proves the database answers, or fails with one clear line. */
export async function openOrm(clientUrl: string, entities: Entities, poolMax?: number): Promise<MikroORM> {
  let orm: MikroORM | undefined;
  try {
    orm = await MikroORM.init(ormConfig(clientUrl, entities, poolMax));
    await orm.em.getConnection().execute('select 1');
    return orm;
  } catch (error) {
    await orm?.close(true).catch(() => undefined);
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new StartupError(`cannot reach PostgreSQL at ${describeTarget(clientUrl)} (${reason}); check DATABASE_URL`);
  }
}

/** Our own advisory-lock key (any 64-bit number no other tenant of the database uses). */
const MIGRATION_LOCK = 74_616_365;

/**
 * Applies the committed migrations, one process at a time: processes started together on
 * one database (several API processes and workers) take a PostgreSQL advisory lock on a
 * connection of their own; the first migrates, the others wait for it and find nothing left.
 */
export async function migrateUp(orm: MikroORM): Promise<string[]> {
  const lock = new pg.Client({ connectionString: orm.config.get('clientUrl') });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await orm.migrator.up();
    return applied.map((migration) => migration.name);
  } finally {
    // Ending the session releases the lock whatever happened.
    await lock.end();
  }
}

/** The pool's clients now (the metrics' pool gauge). */
export async function poolStats(orm: MikroORM): Promise<{ total: number; idle: number; waiting: number }> {
  const pool = (await orm.em.getConnection().getNativeClient()) as { totalCount: number; idleCount: number; waitingCount: number };
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
}
