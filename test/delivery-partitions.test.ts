/**
 * Weeks of deliveries (issue 32): webhook deliveries and their attempts in week partitions of the delivery's
 * created_at, made ahead by the maintenance; rows outside them kept by the default partitions and moved out, attempts
 * with their deliveries, when their week is made; whole weeks dropped past DELIVERY_RETENTION with their attempts,
 * except a week with a delivery still pending; a delivery id planned once across weeks; and the migration keeping an
 * existing install's deliveries and attempts.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { attemptsPartitionOf, DELIVERY_PARTITIONS } from '../src/core/delivery-partitions.ts';
import { partitionsPastRetention } from '../src/core/time-partitions.ts';
import { openOrm } from '../src/infra/orm.ts';
import { connectClient } from '../src/infra/temporal.ts';
import { ENTITIES } from '../src/modules/entities.ts';
import { ensureDeliveryPartitions } from '../src/modules/webhooks/delivery-partitions.ts';
import { insertDeliveries } from '../src/modules/webhooks/planning.ts';
import { pruneScheduleId } from '../src/temporal/schedules.ts';
import { createEmptyDatabase, startTestStack, type TestStack } from './support/harness.ts';
import { CREATE_APP, CREATE_ENDPOINT, type CreatedApp } from './support/operations.ts';
import { Receiver } from './support/receiver.ts';

const DAY = 86_400_000;

describe('delivery partitions: the decisions', () => {
  it('names a UTC week from its Monday, across a year boundary, and reads names back', () => {
    expect(DELIVERY_PARTITIONS.partitionFor(new Date('2026-12-31T23:59:59.999Z'))).toEqual({
      name: 'webhook_deliveries_w20261228',
      from: new Date('2026-12-28T00:00:00Z'),
      to: new Date('2027-01-04T00:00:00Z'),
    });
    // Sunday night is still the week of the Monday before; Monday 00:00 starts the next.
    expect(DELIVERY_PARTITIONS.partitionFor(new Date('2027-01-03T23:59:59.999Z')).name).toBe('webhook_deliveries_w20261228');
    expect(DELIVERY_PARTITIONS.partitionFor(new Date('2027-01-04T00:00:00Z')).name).toBe('webhook_deliveries_w20270104');
    expect(DELIVERY_PARTITIONS.parse('webhook_deliveries_w20261228')).toEqual(DELIVERY_PARTITIONS.partitionFor(new Date('2026-12-30Z')));
    expect(DELIVERY_PARTITIONS.parse('webhook_deliveries_w20261229')).toBeNull();
    expect(DELIVERY_PARTITIONS.parse('webhook_deliveries_w20261332')).toBeNull();
    expect(DELIVERY_PARTITIONS.parse('webhook_deliveries_default')).toBeNull();
    expect(attemptsPartitionOf(DELIVERY_PARTITIONS.partitionFor(new Date('2026-12-30Z'))).name).toBe('delivery_attempts_w20261228');
  });

  it('lets a week go only once all of it is past the retention', () => {
    const existing = ['webhook_deliveries_w20261109', 'webhook_deliveries_w20261026', 'webhook_deliveries_w20261102', 'webhook_deliveries_default'];
    // P30D before Sunday Dec 13, noon, is Friday Nov 13, noon: the weeks of Oct 26 and Nov 2 end before it, Nov 9's does not.
    const past = partitionsPastRetention(DELIVERY_PARTITIONS, existing, new Date('2026-12-13T12:00:00Z'), 30 * DAY);
    expect(past.map((partition) => partition.name)).toEqual(['webhook_deliveries_w20261026', 'webhook_deliveries_w20261102']);
    expect(partitionsPastRetention(DELIVERY_PARTITIONS, existing, new Date('2026-12-13T12:00:00Z'), 0)).toEqual([]);
  });
});

describe('delivery partitions on a database', () => {
  let stack: TestStack;
  let app: CreatedApp;
  let endpointId: string;
  const hook = new Receiver();
  beforeAll(async () => {
    stack = await startTestStack();
    await hook.start();
    app = (await stack.gql<{ createApp: CreatedApp }>(CREATE_APP, { name: 'weeks' })).data!.createApp;
    endpointId = (await stack.gql(CREATE_ENDPOINT, { input: { appId: app.app.id, url: hook.url } })).data.createWebhookEndpoint.endpoint.id;
  }, 60_000);
  afterAll(async () => {
    await hook.stop();
    await stack?.stop();
  });

  const partitionsOf = async (table: string) =>
    (
      await stack.sql<{ name: string }>(
        `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = $1::regclass order by 1`,
        [table],
      )
    ).map((row) => row.name);
  const sendTestWebhook = async () =>
    (await stack.gql(`mutation($e: ID!) { sendTestWebhook(endpointId: $e) { attempt { deliveryId statusCode } errors { message } } }`, { e: endpointId })).data
      .sendTestWebhook.attempt as { deliveryId: string; statusCode: number };
  const weekOf = (daysAgo: number) => DELIVERY_PARTITIONS.partitionFor(new Date(Date.now() - daysAgo * DAY));

  it('has this week and two ahead from the start, for deliveries and attempts alike', async () => {
    for (const ahead of [0, 1, 2]) {
      const week = DELIVERY_PARTITIONS.partitionFor(new Date(Date.now() + ahead * 7 * DAY));
      expect(await partitionsOf('webhook_deliveries')).toContain(week.name);
      expect(await partitionsOf('delivery_attempts')).toContain(attemptsPartitionOf(week).name);
    }
  });

  it('drops whole weeks past DELIVERY_RETENTION with their attempts, through the hourly schedule, and keeps a week with a delivery pending', async () => {
    const current = await sendTestWebhook();
    expect(current.statusCode).toBe(200);
    // Two delivered 60 days ago; one planned 45 days ago and pending still (its retry window outlasted the retention);
    // each with an attempt. No week of theirs exists yet: they land in the default partitions.
    await stack.sql(
      `insert into webhook_deliveries (id, endpoint_id, event_type, body, status, attempt_count, created_at) values
         ('msg_old_1', $1, 'webhook.test', '{}', 'delivered', 1, now() - interval '60 days'),
         ('msg_old_2', $1, 'webhook.test', '{}', 'delivered', 1, now() - interval '60 days 1 hour'),
         ('msg_pending', $1, 'webhook.test', '{}', 'pending', 1, now() - interval '45 days')`,
      [endpointId],
    );
    await stack.sql(
      `insert into delivery_attempts (id, delivery_id, delivery_created_at, attempted_at, duration_ms, status_code)
       select 'att_' || id, id, created_at, created_at, 5, 500 from webhook_deliveries where id in ('msg_old_1', 'msg_old_2', 'msg_pending')`,
    );
    expect(await stack.count(`select count(*) as n from webhook_deliveries_default`)).toBe(3);
    expect(await stack.count(`select count(*) as n from delivery_attempts_default`)).toBe(3);

    const temporal = await connectClient(inject('temporalAddress'), 'default');
    try {
      const taskQueue = stack.config.temporalTaskQueue;
      const schedule = await temporal.schedule.getHandle(pruneScheduleId(taskQueue)).describe();
      expect(schedule.action).toMatchObject({ workflowType: 'pruneDeliveries', taskQueue });
      expect(schedule.spec.intervals?.[0]?.every).toBe(3_600_000);
      const dropped = await temporal.workflow.execute('pruneDeliveries', { taskQueue, workflowId: `prune-deliveries-test-${Date.now()}` });
      expect(dropped).toBe(2);
    } finally {
      await temporal.connection.close();
    }

    // The old weeks were made (their rows moved out of the default partitions, attempts with their deliveries), then
    // the one past the retention dropped.
    expect(await stack.count(`select count(*) as n from webhook_deliveries_default`)).toBe(0);
    expect(await stack.count(`select count(*) as n from delivery_attempts_default`)).toBe(0);
    expect(await partitionsOf('webhook_deliveries')).not.toContain(weekOf(60).name);
    expect(await partitionsOf('delivery_attempts')).not.toContain(attemptsPartitionOf(weekOf(60)).name);
    expect(await partitionsOf('webhook_deliveries')).toContain(weekOf(45).name);
    // The week the maintenance made has the attempts' foreign key: an attempt of no delivery there is refused.
    await expect(
      stack.sql(
        `insert into delivery_attempts (id, delivery_id, delivery_created_at, attempted_at, duration_ms) values ('att_orphan', 'msg_none', now() - interval '45 days', now(), 1)`,
      ),
    ).rejects.toThrow(/foreign key/);
    const left = await stack.sql<{ id: string; attempts: number }>(
      `select d.id, (select count(*)::int from delivery_attempts a where a.delivery_id = d.id) as attempts from webhook_deliveries d
        join webhook_endpoints e on e.id = d.endpoint_id where e.app_id = $1 order by d.created_at`,
      [app.app.id],
    );
    expect(left).toEqual([
      { id: 'msg_pending', attempts: 1 },
      { id: current.deliveryId, attempts: 1 },
    ]);
    // This week's and the weeks ahead are never past the retention.
    expect(await partitionsOf('webhook_deliveries')).toContain(weekOf(0).name);
  });

  it('plans a delivery id once, whichever week holds it', async () => {
    await stack.sql(
      `insert into webhook_deliveries (id, endpoint_id, event_type, body, status, attempt_count, created_at)
       values ('msg_planned_once', $1, 'delivery.failing', '{}', 'pending', 0, now() - interval '10 days')`,
      [endpointId],
    );
    await ensureDeliveryPartitions(stack.runtime.orm);
    // Planned again now (a retried activity): this week's partition has no such id, an earlier week has.
    await insertDeliveries(stack.runtime.orm.em.fork(), [{ id: 'msg_planned_once', endpointId, eventType: 'delivery.failing', body: '{}' }]);
    expect(await stack.sql(`select id from webhook_deliveries where id = 'msg_planned_once'`)).toHaveLength(1);
  });
});

describe('the delivery partitions migration', () => {
  it("moves an existing install's deliveries and attempts into week partitions without losing one", async () => {
    const orm = await openOrm(await createEmptyDatabase(), ENTITIES);
    try {
      await orm.migrator.up({ to: 'Migration20261206031500_finished_trial_counts' });
      const sql = <T = Record<string, unknown>>(text: string) => orm.em.getConnection().execute<T[]>(text);
      await sql(`insert into apps (id, name, write_key_hash, server_token_hash, created_at) values ('app_w', 'w', 'w', 's', now())`);
      await sql(`insert into webhook_endpoints (id, app_id, url, event_types, headers, secret, created_at, retry_schedule)
                 values ('whe_w', 'app_w', 'https://example.com/hook', '[]', '{}', 's', now(), '[]')`);
      // 300 deliveries over the last 90 days (microseconds in their times, as now() writes them: the migration rounds
      // them to the millisecond, compared below as epoch milliseconds), two attempts each.
      await sql(`insert into webhook_deliveries (id, endpoint_id, event_type, body, status, attempt_count, created_at)
                 select 'msg_' || i, 'whe_w', 'trial.segment_changed', '{}', case when i % 10 = 0 then 'pending' else 'delivered' end, 2,
                        now() - i * interval '7 hours 13 minutes 0.123456 seconds'
                   from generate_series(1, 300) i`);
      await sql(`insert into delivery_attempts (id, delivery_id, attempted_at, duration_ms, status_code)
                 select 'att_' || i || '_' || n, 'msg_' || i, now(), 10 * n, 200 from generate_series(1, 300) i, generate_series(1, 2) n`);
      const totals = `select (select count(*)::int from webhook_deliveries) as deliveries, (select count(*)::int from delivery_attempts) as attempts,
                             (select string_agg(id || '@' || round(extract(epoch from created_at) * 1000), ',' order by id) from webhook_deliveries) as keys`;
      const [before] = await sql<{ deliveries: number; attempts: number; keys: string }>(totals);
      await orm.migrator.up();
      const [after] = await sql<{ deliveries: number; attempts: number; keys: string }>(totals);
      expect(after).toEqual(before);
      expect(before!.attempts).toBe(600);
      // Every week from the oldest delivery's through two ahead, and nothing left in the default partitions.
      const weeks = await sql<{ name: string }>(
        `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'webhook_deliveries'::regclass and c.relname <> 'webhook_deliveries_default'`,
      );
      expect(weeks.length).toBeGreaterThanOrEqual(15);
      expect(await sql(`select (select count(*)::int from webhook_deliveries_default) + (select count(*)::int from delivery_attempts_default) as n`)).toEqual([
        { n: 0 },
      ]);
      // Each attempt sits in its delivery's week and refers to it by both key columns; an attempt of no delivery is
      // refused (the week's foreign key, the default partitions' too).
      expect(
        await sql(`select count(*)::int as n from delivery_attempts a join webhook_deliveries d on d.id = a.delivery_id and d.created_at = a.delivery_created_at
                    where substring(a.tableoid::regclass::text from '_w.*$') = substring(d.tableoid::regclass::text from '_w.*$')`),
      ).toEqual([{ n: 600 }]);
      await expect(
        sql(`insert into delivery_attempts (id, delivery_id, delivery_created_at, attempted_at, duration_ms) values ('att_x', 'msg_none', now(), now(), 1)`),
      ).rejects.toThrow(/foreign key/);
      // Deleting an endpoint still takes its deliveries and their attempts with it.
      await sql(`delete from webhook_endpoints where id = 'whe_w'`);
      expect(await sql(`select (select count(*)::int from webhook_deliveries) + (select count(*)::int from delivery_attempts) as n`)).toEqual([{ n: 0 }]);
    } finally {
      await orm.close(true);
    }
  }, 60_000);
});
