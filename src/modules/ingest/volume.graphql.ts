import { builder } from '../../graphql/builder.ts';
import { requireApp } from '../../graphql/context.ts';
import { eventVolume, signalQueue, type SignalRow, type VolumeRow } from './volume.queries.ts';

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
      return eventVolume(em, appId, Math.min(Math.max(days ?? 30, 1), 366));
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
      return signalQueue(em, appId);
    },
  }),
);
