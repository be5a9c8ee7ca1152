import { builder } from '../../graphql/builder.ts';
import { requireApp } from '../../graphql/context.ts';

interface VolumeRow {
  day: string;
  type: string;
  event: string | null;
  count: number;
}

interface SignalRow {
  type: string;
  event: string | null;
  count: number;
  firstSeen: Date;
  lastSeen: Date;
}

const EventVolume = builder.objectRef<VolumeRow>('EventVolume').implement({
  description: 'How many events of one name arrived on one day (UTC)',
  fields: (t) => ({
    day: t.exposeString('day', { description: 'YYYY-MM-DD' }),
    type: t.exposeString('type'),
    event: t.exposeString('event', { nullable: true }),
    count: t.exposeInt('count'),
  }),
});

const Signal = builder.objectRef<SignalRow>('Signal').implement({
  description: 'An event name seen from this app (the signal queue): use it for aha, conversion and allow-list settings',
  fields: (t) => ({
    type: t.exposeString('type'),
    event: t.exposeString('event', { nullable: true }),
    count: t.exposeInt('count'),
    firstSeen: t.expose('firstSeen', { type: 'DateTime' }),
    lastSeen: t.expose('lastSeen', { type: 'DateTime' }),
  }),
});

builder.queryField('eventVolume', (t) =>
  t.field({
    type: [EventVolume],
    description: 'Events per name and day, newest day first',
    args: { appId: t.arg.id({ required: true }), days: t.arg.int({ defaultValue: 30, description: '1 to 366' }) },
    resolve: async (_root, { appId, days }, { auth, em }) => {
      requireApp(auth, appId);
      const span = Math.min(Math.max(days ?? 30, 1), 366);
      const rows: Array<{ day: string; type: string; event: string | null; count: string }> = await em.execute(
        `select to_char(date_trunc('day', received_at at time zone 'UTC'), 'YYYY-MM-DD') as day, type, event, count(*) as count
         from events where app_id = ? and received_at > now() - make_interval(days => ?)
         group by 1, 2, 3 order by 1 desc, 4 desc`,
        [appId, span],
      );
      return rows.map((row) => ({ ...row, count: Number(row.count) }));
    },
  }),
);

builder.queryField('signalQueue', (t) =>
  t.field({
    type: [Signal],
    description: 'Every event name seen, most frequent first',
    args: { appId: t.arg.id({ required: true }) },
    resolve: async (_root, { appId }, { auth, em }) => {
      requireApp(auth, appId);
      const rows: Array<{ type: string; event: string | null; count: string; first_seen: Date; last_seen: Date }> = await em.execute(
        `select type, event, count(*) as count, min(received_at) as first_seen, max(received_at) as last_seen
         from events where app_id = ? group by 1, 2 order by 3 desc limit 500`,
        [appId],
      );
      return rows.map((row) => ({ type: row.type, event: row.event, count: Number(row.count), firstSeen: row.first_seen, lastSeen: row.last_seen }));
    },
  }),
);
