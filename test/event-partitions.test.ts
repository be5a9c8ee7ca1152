/**
 * Months of data (issue 32): events in month partitions, made ahead by the maintenance; rows outside them kept by the
 * default partition and moved out when their month is made; a re-sent message stored once, across a boundary too;
 * retention dropping whole partitions only once rolled up, the signal queue and the volume chart showing the same
 * numbers after; a GDPR erasure reaching every partition; and the migration keeping an existing install's rows.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EVENT_PARTITIONS, partitionsToDrop } from '../src/core/event-partitions.ts';
import { partitionsToCreate } from '../src/core/time-partitions.ts';
import { openOrm } from '../src/infra/orm.ts';
import { ENTITIES } from '../src/modules/entities.ts';
import { dropExpiredEventPartitions, ensureEventPartitions, rollUpEvents } from '../src/modules/ingest/event-partitions.ts';
import { EventWriter } from '../src/modules/ingest/event-writer.ts';
import { eventVolume, signalQueue } from '../src/modules/ingest/volume.queries.ts';
import { ingestEvent } from './support/ingest-events.ts';
import { connectClient } from '../src/infra/temporal.ts';
import { maintainEventsScheduleId } from '../src/temporal/schedules.ts';
import { createEmptyDatabase, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, type CreatedApp } from './support/operations.ts';

const DAY = 86_400_000;

describe('event partitions: the decisions', () => {
  it('names a UTC month, across a year boundary, and reads names back', () => {
    expect(EVENT_PARTITIONS.partitionFor(new Date('2026-12-31T23:59:59.999Z'))).toEqual({
      name: 'events_y2026m12',
      from: new Date('2026-12-01T00:00:00Z'),
      to: new Date('2027-01-01T00:00:00Z'),
    });
    expect(EVENT_PARTITIONS.partitionFor(new Date('2027-01-01T00:00:00Z')).name).toBe('events_y2027m01');
    expect(EVENT_PARTITIONS.parse('events_y2027m01')).toEqual(EVENT_PARTITIONS.partitionFor(new Date('2027-01-15Z')));
    expect(EVENT_PARTITIONS.parse('events_default')).toBeNull();
    expect(EVENT_PARTITIONS.parse('events_y2027m13')).toBeNull();
  });

  it('creates the missing months, oldest first, and drops only what is past the retention and rolled up', () => {
    const names = (list: Array<{ name: string }>) => list.map((p) => p.name);
    expect(names(partitionsToCreate(EVENT_PARTITIONS, ['events_y2026m12'], new Date('2026-11-20Z'), new Date('2027-02-01Z')))).toEqual([
      'events_y2026m11',
      'events_y2027m01',
      'events_y2027m02',
    ]);
    const existing = [
      { name: 'events_y2026m03', maxId: null },
      { name: 'events_y2026m04', maxId: 10n },
      { name: 'events_y2026m05', maxId: 20n },
      { name: 'events_y2026m06', maxId: 30n },
      { name: 'events_default', maxId: 50n },
    ];
    const now = new Date('2026-12-15Z');
    // P180D before Dec 15 is Jun 18: March, April and May end before it; June does not (nor the default partition).
    expect(names(partitionsToDrop(existing, now, 180 * DAY, 100n))).toEqual(['events_y2026m03', 'events_y2026m04', 'events_y2026m05']);
    // May's rows are not all rolled up yet: it stays (and so do the counts' sources); an empty month goes.
    expect(names(partitionsToDrop(existing, now, 180 * DAY, 15n))).toEqual(['events_y2026m03', 'events_y2026m04']);
    expect(partitionsToDrop(existing, now, 0, 100n)).toEqual([]);
  });
});

describe('event partitions on a database', () => {
  let stack: TestStack;
  let app: CreatedApp;
  beforeAll(async () => {
    stack = await startTestStack();
    app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'months' })).data!.createApp;
  }, 60_000);
  afterAll(() => stack?.stop());

  const partitions = async () =>
    (
      await stack.sql<{ name: string }>(
        `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'events'::regclass order by 1`,
      )
    ).map((row) => row.name);
  const insertAt = (messageId: string, event: string, userId: string, receivedAt: Date) =>
    stack.sql(
      `insert into events (app_id, message_id, type, event, user_id, properties, traits, context, timestamp, received_at)
       values ($1, $2, 'track', $3, $4, '{}', '{}', '{}', $5, $5)`,
      [app.app.id, messageId, event, userId, receivedAt],
    );
  const monthsAgo = (n: number) => {
    const now = new Date();
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - n, 10, 12));
  };

  it('has this month and two ahead from the start, and keeps rows outside them in the default partition until their month is made', async () => {
    const now = new Date();
    for (const ahead of [0, 1, 2]) {
      expect(await partitions()).toContain(EVENT_PARTITIONS.partitionFor(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + ahead, 1))).name);
    }
    const old = monthsAgo(14);
    await insertAt('old-1', 'Imported', 'u-old', old);
    expect(await stack.count(`select count(*) as n from events_default`)).toBe(1);
    const created = await ensureEventPartitions(stack.runtime.orm);
    expect(created[0]).toBe(EVENT_PARTITIONS.partitionFor(old).name);
    expect(await stack.count(`select count(*) as n from events_default`)).toBe(0);
    expect(await stack.count(`select count(*) as n from "${EVENT_PARTITIONS.partitionFor(old).name}"`)).toBe(1);
    // The unique index came with it: the same message again is refused there.
    await expect(insertAt('old-1', 'Imported', 'u-old', old)).rejects.toThrow(/duplicate key/);
    // Running again creates nothing.
    expect(await ensureEventPartitions(stack.runtime.orm)).toEqual([]);
  });

  it('stores a message re-sent across a month boundary once', async () => {
    const writer = new EventWriter(stack.runtime.orm);
    const lastMonth = new Date(EVENT_PARTITIONS.partitionFor(new Date()).from.getTime() - 1000);
    const message = (receivedAt: Date) =>
      ingestEvent({ messageId: 'across-the-boundary', userId: 'u-boundary', event: 'Clicked', timestamp: lastMonth, receivedAt });
    const first = await writer.write(app.app.id, [message(lastMonth)]);
    const again = await writer.write(app.app.id, [message(new Date())]);
    expect(first.events.map((e) => e.fresh)).toEqual([true]);
    expect(again.events.map((e) => e.fresh)).toEqual([false]);
    expect(await stack.count(`select count(*) as n from events where message_id = 'across-the-boundary'`)).toBe(1);
  });

  it('drops whole partitions past the retention once rolled up, and the signal queue and volume read the same after', async () => {
    // Nine and eight months ago (past P180D), and now.
    for (let i = 0; i < 3; i++) await insertAt(`nine-${i}`, 'Report Viewed', `u${i}`, monthsAgo(9));
    for (let i = 0; i < 2; i++) await insertAt(`eight-${i}`, 'Invited', `u${i}`, monthsAgo(8));
    await insertAt('now-0', 'Report Viewed', 'u0', new Date());
    await ensureEventPartitions(stack.runtime.orm);
    const em = () => stack.runtime.orm.em.fork();
    const queue = async () =>
      (await signalQueue(em(), app.app.id)).map(({ event, count, firstSeen }) => ({ event, count, firstSeen: firstSeen.toISOString() }));
    const volume = () => eventVolume(em(), app.app.id, 400);
    const [queueBefore, volumeBefore] = [await queue(), await volume()];
    expect(queueBefore.find((row) => row.event === 'Report Viewed')?.count).toBe(4);

    // Not rolled up yet: the old months holding rows stay (empty ones in between may go).
    const withRows = [
      EVENT_PARTITIONS.partitionFor(monthsAgo(14)).name,
      EVENT_PARTITIONS.partitionFor(monthsAgo(9)).name,
      EVENT_PARTITIONS.partitionFor(monthsAgo(8)).name,
    ];
    const early = await dropExpiredEventPartitions(stack.runtime.orm, 'P180D');
    expect(early.filter((name) => withRows.includes(name))).toEqual([]);
    expect(await partitions()).toEqual(expect.arrayContaining(withRows));
    expect(await rollUpEvents(stack.runtime.orm)).toBeGreaterThan(0);
    // The same numbers from the rollup and the live rows.
    expect(await queue()).toEqual(queueBefore);
    const dropped = await dropExpiredEventPartitions(stack.runtime.orm, 'P180D');
    expect(dropped).toEqual(expect.arrayContaining(withRows));
    expect(await partitions()).not.toContain(EVENT_PARTITIONS.partitionFor(monthsAgo(9)).name);
    expect(await stack.count(`select count(*) as n from events where app_id = $1 and message_id like 'nine-%'`, [app.app.id])).toBe(0);
    expect(await queue()).toEqual(queueBefore);
    expect(await volume()).toEqual(volumeBefore);
    // This month's partition is never past the retention.
    expect(await partitions()).toContain(EVENT_PARTITIONS.partitionFor(new Date()).name);
    // P0D keeps everything.
    await insertAt('seven-0', 'Invited', 'u9', monthsAgo(7));
    await ensureEventPartitions(stack.runtime.orm);
    await rollUpEvents(stack.runtime.orm);
    expect(await dropExpiredEventPartitions(stack.runtime.orm, 'P0D')).toEqual([]);
    expect(await partitions()).toContain(EVENT_PARTITIONS.partitionFor(monthsAgo(7)).name);
  });

  it('runs as the hourly maintain-events schedule, through the worker', async () => {
    const temporal = await connectClient(inject('temporalAddress'), 'default');
    try {
      const taskQueue = stack.config.temporalTaskQueue;
      const schedule = await temporal.schedule.getHandle(maintainEventsScheduleId(taskQueue)).describe();
      expect(schedule.action).toMatchObject({ workflowType: 'maintainEvents', taskQueue });
      await insertAt('hour-old', 'Exported', 'u-hour', new Date(Date.now() - 2 * 3_600_000));
      const run = await temporal.workflow.execute('maintainEvents', { taskQueue, workflowId: `maintain-events-test-${Date.now()}` });
      expect(run).toMatchObject({ created: [], dropped: expect.any(Array) });
      expect((run as { rolledUp: number }).rolledUp).toBeGreaterThan(0);
    } finally {
      await temporal.connection.close();
    }
  });

  it("erases a person's events in every partition", async () => {
    await insertAt('gdpr-old', 'Clicked', 'u-gdpr', monthsAgo(3));
    await insertAt('gdpr-new', 'Clicked', 'u-gdpr', new Date());
    await ensureEventPartitions(stack.runtime.orm);
    expect(await stack.count(`select count(*) as n from events where user_id = 'u-gdpr'`)).toBe(2);
    const answer = await fetch(`${stack.url}/hooks/segment/${app.writeKey}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'delete', userId: 'u-gdpr', messageId: 'gdpr-delete' }),
    });
    expect(answer.status).toBe(200);
    expect(await stack.count(`select count(*) as n from events where user_id = 'u-gdpr'`)).toBe(0);
  });
});

describe('the partitions migration', () => {
  it("moves an existing install's events into month partitions without losing one, ids and uniqueness kept", async () => {
    const orm = await openOrm(await createEmptyDatabase(), ENTITIES);
    try {
      await orm.migrator.up({ to: 'Migration20261205204545_trial_outcomes_unused_index' });
      const sql = <T = Record<string, unknown>>(text: string) => orm.em.getConnection().execute<T[]>(text);
      await sql(`insert into apps (id, name, write_key_hash, server_token_hash, created_at) values ('app_p', 'p', 'w', 's', now())`);
      // 1,000 events over the last 13 months.
      await sql(`insert into events (app_id, message_id, type, event, user_id, properties, traits, context, timestamp, received_at)
                 select 'app_p', 'm' || i, 'track', 'E' || (i % 7), 'u' || (i % 50), '{}', '{}', '{}', now() - i * interval '9 hours', now() - i * interval '9 hours'
                   from generate_series(1, 1000) i`);
      const before = await sql<{ n: string; ids: string }>(`select count(*) as n, sum(id) as ids from events`);
      await orm.migrator.up();
      const after = await sql<{ n: string; ids: string }>(`select count(*) as n, sum(id) as ids from events`);
      expect(after).toEqual(before);
      // Every month from the oldest event's through two ahead, and nothing left in the default partition.
      const months = await sql<{ name: string }>(
        `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'events'::regclass and c.relname <> 'events_default'`,
      );
      expect(months.length).toBeGreaterThanOrEqual(15);
      expect(await sql(`select count(*)::int as n from events_default`)).toEqual([{ n: 0 }]);
      // The sequence goes on from the old one, and a stored message is still refused.
      const [next] = await sql<{ id: string }>(
        `insert into events (app_id, message_id, type, properties, traits, context, timestamp, received_at) values ('app_p', 'new', 'track', '{}', '{}', '{}', now(), now()) returning id`,
      );
      expect(Number(next!.id)).toBeGreaterThan(1000);
      await expect(
        sql(
          `insert into events (app_id, message_id, type, properties, traits, context, timestamp, received_at) values ('app_p', 'm1', 'track', '{}', '{}', '{}', now(), now() - interval '9 hours')`,
        ),
      ).rejects.toThrow(/duplicate key/);
    } finally {
      await orm.close(true);
    }
  }, 60_000);
});
