/**
 * A trial's events, newest first (the trial page's timeline), and for each transition the
 * user's latest event at or before it: what "went quiet 3 days after the last Report Viewed"
 * is read from.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { builder } from '../../graphql/builder.ts';
import { loaderFor } from '../../graphql/batch-loader.ts';
import { connectionOf, decodeCursor, pageSize, toPage } from '../../graphql/connection.ts';
import { SegmentChangeRef, TrialRef } from '../trials/trial.graphql.ts';
import type { TrialView } from '../trials/trial.entity.ts';

interface TrialEvent {
  id: string;
  type: string;
  event: string | null;
  properties: Record<string, unknown>;
  /** When it happened (the sender's timestamp): the connection's order. */
  createdAt: Date;
  receivedAt: Date;
}

type EventRow = { id: string; type: string; event: string | null; properties: Record<string, unknown>; timestamp: Date; received_at: Date };
const toEvent = (row: EventRow): TrialEvent => ({
  id: row.id,
  type: row.type,
  event: row.event,
  properties: row.properties,
  createdAt: new Date(row.timestamp),
  receivedAt: new Date(row.received_at),
});
const COLUMNS = 'e.id::text as id, e.type, e.event, e.properties, e.timestamp, e.received_at';

const TrialEventRef = builder.objectRef<TrialEvent>('TrialEvent').implement({
  description: "One event of a trial's user, as it was accepted",
  fields: (t) => ({
    id: t.exposeID('id'),
    type: t.exposeString('type', { description: 'track, identify, page, screen, group or alias' }),
    event: t.exposeString('event', { nullable: true, description: 'The name of a track event' }),
    properties: t.string({ description: 'Its properties, as JSON', resolve: (event) => JSON.stringify(event.properties) }),
    timestamp: t.field({ type: 'DateTime', description: 'When it happened, as the sender said', resolve: (event) => event.createdAt }),
    receivedAt: t.expose('receivedAt', { type: 'DateTime' }),
  }),
});

const TrialEventConnection = connectionOf('TrialEvent', TrialEventRef);

/** The events that count for a trial: its person's, or, for an account, its members' that name it or no account. */
const COUNTED_FOR = {
  person: 'e.app_id = ? and e.user_id = ?',
  account: `e.app_id = ? and e.user_id in (select m.user_id from account_members m where m.app_id = e.app_id and m.account_id = ?)
            and (e.group_id is null or e.group_id = ?)`,
};

async function eventsPage(em: EntityManager, trial: TrialView, first: number, after: string | null | undefined) {
  const cursor = after ? decodeCursor(after) : null;
  const [where, subject] = trial.accountId != null ? [COUNTED_FOR.account, [trial.accountId, trial.accountId]] : [COUNTED_FOR.person, [trial.userId]];
  const rows = await em
    .getConnection()
    .execute<EventRow[]>(
      `select ${COLUMNS} from events e where ${where}` +
        (cursor ? ' and (e.timestamp < ? or (e.timestamp = ? and e.id < ?::bigint))' : '') +
        ' order by e.timestamp desc, e.id desc limit ?',
      [trial.app.id, ...subject, ...(cursor ? [cursor.at, cursor.at, cursor.id] : []), first + 1],
    );
  return toPage(rows.map(toEvent), first);
}

async function latestEventsBefore(em: EntityManager, changeIds: string[]): Promise<Map<string, TrialEvent>> {
  // Each branch runs only for its kind of trial (its first condition is on the trial alone).
  const rows = await em.getConnection().execute<Array<EventRow & { change_id: string }>>(
    `select sc.id as change_id, ${COLUMNS}
       from segment_changes sc join trials t on t.id = sc.trial_id
      cross join lateral (
        (select * from events ev where t.user_id is not null and ev.app_id = sc.app_id and ev.user_id = t.user_id and ev.timestamp <= sc.occurred_at
          order by ev.timestamp desc, ev.id desc limit 1)
        union all
        (select * from events ev where t.account_id is not null and ev.app_id = sc.app_id and ev.timestamp <= sc.occurred_at
            and ev.user_id in (select m.user_id from account_members m where m.app_id = sc.app_id and m.account_id = t.account_id)
            and (ev.group_id is null or ev.group_id = t.account_id)
          order by ev.timestamp desc, ev.id desc limit 1)
      ) e
      where sc.id in (select jsonb_array_elements_text(cast(? as jsonb)))`,
    [JSON.stringify(changeIds)],
  );
  return new Map(rows.map((row) => [row.change_id, toEvent(row)]));
}

builder.objectFields(TrialRef, (t) => ({
  events: t.field({
    type: TrialEventConnection,
    description: "The user's events (an account's: its members' that count for it), newest first; at most 100 a page",
    args: { first: t.arg.int({ defaultValue: 20 }), after: t.arg.string() },
    resolve: (trial, args, { em }) => eventsPage(em, trial, pageSize(args.first), args.after),
  }),
}));

builder.objectFields(SegmentChangeRef, (t) => ({
  lastEventBefore: t.field({
    type: TrialEventRef,
    nullable: true,
    description: "The user's latest event at or before this move (null: none stored)",
    // One query for every change of the request.
    resolve: async (change, _args, ctx) =>
      (await loaderFor<string, TrialEvent>(ctx, 'latestEventBeforeChange', (ids) => latestEventsBefore(ctx.em, ids)).load(change.id)) ?? null,
  }),
}));
