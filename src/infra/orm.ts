import { fileURLToPath } from 'node:url';
import { defineConfig, MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { StartupError } from '../errors.ts';
import { App } from '../modules/apps/app.entity.ts';
import { ApiKey } from '../modules/apps/api-key.entity.ts';
import { Integrations } from '../modules/apps/integrations.entity.ts';
import { Trial } from '../modules/trials/trial.entity.ts';
import { SegmentChange } from '../modules/trials/segment-change.entity.ts';
import { AppSettings } from '../modules/trials/app-settings.entity.ts';
import { Event, Identity } from '../modules/ingest/event.entity.ts';
import { WebhookEndpoint } from '../modules/webhooks/webhook-endpoint.entity.ts';
import { DeliveryAttempt, WebhookDelivery } from '../modules/webhooks/webhook-delivery.entity.ts';

export { MikroORM };
export const migrationsDir = fileURLToPath(new URL('../../migrations', import.meta.url));

export function ormConfig(clientUrl: string, poolMax = 20) {
  return defineConfig({
    clientUrl,
    entities: [App, ApiKey, Integrations, Trial, SegmentChange, AppSettings, Event, Identity, WebhookEndpoint, WebhookDelivery, DeliveryAttempt],
    extensions: [Migrator],
    pool: { max: poolMax },
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
export async function openOrm(clientUrl: string, poolMax?: number): Promise<MikroORM> {
  let orm: MikroORM | undefined;
  try {
    orm = await MikroORM.init(ormConfig(clientUrl, poolMax));
    await orm.em.getConnection().execute('select 1');
    return orm;
  } catch (error) {
    await orm?.close(true).catch(() => undefined);
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new StartupError(`cannot reach PostgreSQL at ${describeTarget(clientUrl)} (${reason}); check DATABASE_URL`);
  }
}

export async function migrateUp(orm: MikroORM): Promise<string[]> {
  const applied = await orm.migrator.up();
  return applied.map((migration) => migration.name);
}
