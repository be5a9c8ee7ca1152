/**
 * `npm run migration:create [name]`: writes the migration that brings a database built by
 * the committed migrations up to the current entity definitions. It runs against a
 * throw-away embedded PostgreSQL, so no database needs to be set up by hand.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from './logger.ts';
import { startEmbeddedPostgres } from './infra/postgres.ts';
import { migrateUp, openOrm } from './infra/orm.ts';
import { ENTITIES } from './modules/entities.ts';

async function createMigration(name: string | undefined): Promise<void> {
  const logger = createLogger('warn');
  const dir = await mkdtemp(join(tmpdir(), 'trialcast-migrate-'));
  const postgres = await startEmbeddedPostgres({ dir: join(dir, 'pg'), database: 'trialcast', logger, ephemeral: true });
  try {
    const orm = await openOrm(postgres.url, ENTITIES);
    try {
      await migrateUp(orm);
      const result = await orm.migrator.create(undefined, false, false, name);
      console.log(result.fileName ? `wrote migrations/${result.fileName}` : 'entities and migrations agree; nothing to write');
    } finally {
      await orm.close(true);
    }
  } finally {
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const [command, name] = process.argv.slice(2);
if (command !== 'create') {
  console.error('usage: node src/migrate.ts create [name]');
  process.exit(2);
}
await createMigration(name);
