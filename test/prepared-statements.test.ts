/**
 * The hot statements as named prepared statements (src/infra/prepared-statements.ts): sent by
 * name on the ORM's own pool, and still answering after another process migrates the tables
 * they read and write.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeBound } from '../src/infra/bound-statement.ts';
import { openOrm, type MikroORM } from '../src/infra/orm.ts';
import { prepareStatement } from '../src/infra/prepared-statements.ts';
import { ENTITIES } from '../src/modules/entities.ts';
import { EventWriter } from '../src/modules/ingest/event-writer.ts';
import type { IngestEvent } from '../src/modules/ingest/segment-message.ts';
import { createTestDatabase } from './support/harness.ts';
import { ingestEvent } from './support/ingest-events.ts';

let orm: MikroORM;
let databaseUrl: string;
beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  // One connection: what was prepared on it is visible to the next statement.
  orm = await openOrm(databaseUrl, ENTITIES, 1);
  await orm.em.getConnection().execute(`insert into apps (id, name, write_key_hash, server_token_hash, created_at) values ('app_p', 'p', 'w', 's', now())`);
});
afterAll(async () => {
  await orm?.close(true);
});

const event = (messageId: string, fields: Partial<IngestEvent> = {}) => ingestEvent({ messageId, event: 'Clicked', ...fields });

const preparedOnConnection = async () =>
  (await executeBound<{ name: string }>(orm.em.fork(), 'select name from pg_prepared_statements order by name', [])).map((row) => row.name);

describe('prepared statements', () => {
  it('the event write goes to PostgreSQL by name, inside a transaction too (identity links)', async () => {
    const writer = new EventWriter(orm);
    await writer.write('app_p', [event('m1')]);
    const afterPlainWrite = await preparedOnConnection();
    expect(afterPlainWrite.length).toBeGreaterThan(0);
    expect(afterPlainWrite.every((name) => name.startsWith('trialcast_'))).toBe(true);
    // An event carrying both ids links them: three statements in one transaction.
    await writer.write('app_p', [event('m2', { anonymousId: 'anon-1' })]);
    expect((await preparedOnConnection()).length).toBe(afterPlainWrite.length + 2);
  });

  it('keeps answering after another process adds columns to the tables its statements use', async () => {
    const writer = new EventWriter(orm);
    await writer.write('app_p', [event('m3', { anonymousId: 'anon-2' })]);
    const migrator = new pg.Client({ connectionString: databaseUrl });
    await migrator.connect();
    try {
      await migrator.query('alter table events add column later_column int');
      await migrator.query('alter table trials add column later_column int');
      await migrator.query('alter table identities add column later_column int');
    } finally {
      await migrator.end();
    }
    const result = await writer.write('app_p', [event('m4', { anonymousId: 'anon-3' }), event('m3')]);
    expect(result.events.map((written) => written.fresh)).toEqual([true, false]);
  });

  it('refuses to register a statement whose result columns a migration could change', () => {
    expect(() => prepareStatement('select * from trials where id = $1')).toThrow(/names the columns/);
    expect(() => prepareStatement('select d.*, e.id from webhook_deliveries d join webhook_endpoints e on true')).toThrow(/names the columns/);
    expect(() => prepareStatement('update trials set segment = $1 returning *')).toThrow(/names the columns/);
    expect(prepareStatement('select count(*) as n from trials')).toBe('select count(*) as n from trials');
  });
});
