import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { App } from '../apps/app.entity.ts';

/**
 * Every accepted event, in month partitions of receivedAt (the event_partitions migration; partitions are made and
 * dropped by the maintenance, event-partitions.ts, so they are not declared here). (app, messageId) is unique in each
 * partition, and the writer checks the 7 days before across a boundary: a re-sent message is acknowledged and
 * counted once (Segment's libraries retry within minutes; its own window is 7 days).
 */
export const Event = defineEntity({
  name: 'Event',
  tableName: 'events',
  indexes: [{ properties: ['app', 'userId'] }, { properties: ['app', 'anonymousId'] }, { properties: ['app', 'receivedAt'] }],
  properties: {
    id: p.bigint().primary().autoincrement(),
    app: () => p.manyToOne(App).deleteRule('cascade'),
    messageId: p.string().length(120),
    type: p.string().length(16),
    event: p.string().length(200).nullable(),
    /** Filled in later for anonymous events once identify or alias links the user (stitching). */
    userId: p.string().nullable(),
    anonymousId: p.string().nullable(),
    /** The account the event names (a group call's groupId, or `context.groupId`): it counts for that account only. */
    groupId: p.string().nullable(),
    properties: p.json<Record<string, unknown>>(),
    traits: p.json<Record<string, unknown>>(),
    context: p.json<Record<string, unknown>>(),
    timestamp: p.datetime(),
    /** Server time of receipt: the partition key (a primary key column, as PostgreSQL requires of one). */
    receivedAt: p.datetime().primary(),
  },
});
export type IEvent = InferEntity<typeof Event>;

/** anonymousId → userId, learned from identify and alias calls. */
export const Identity = defineEntity({
  name: 'Identity',
  tableName: 'identities',
  uniques: [{ properties: ['app', 'anonymousId'] }],
  properties: {
    id: p.bigint().primary().autoincrement(),
    app: () => p.manyToOne(App).deleteRule('cascade'),
    anonymousId: p.string(),
    userId: p.string(),
    email: p.string().nullable(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type IIdentity = InferEntity<typeof Identity>;

/**
 * Events per app, UTC day, type and name (event '' for none), added by the maintenance for events up to the
 * watermark: what the signal queue and the volume chart read, so their numbers outlive the partitions dropped by
 * EVENT_RETENTION. Not personal data (a GDPR erasure removes the person's events, not these counts).
 */
export const EventDayCount = defineEntity({
  name: 'EventDayCount',
  tableName: 'event_day_counts',
  properties: {
    appId: p.string().primary(),
    day: p.date().primary(),
    type: p.string().length(16).primary(),
    event: p.string().length(200).primary(),
    events: p.bigint(),
    firstSeen: p.datetime(),
    lastSeen: p.datetime(),
  },
});
export type IEventDayCount = InferEntity<typeof EventDayCount>;

/** The rollup's watermark (one row): events with an id up to it are in event_day_counts; readers count those above it live. */
export const EventRollupWatermark = defineEntity({
  name: 'EventRollupWatermark',
  tableName: 'event_rollup_watermark',
  properties: {
    id: p.integer().primary().autoincrement(false).default(1),
    rolledUpToId: p.bigint(),
    rolledUpAt: p.datetime(),
  },
});
export type IEventRollupWatermark = InferEntity<typeof EventRollupWatermark>;
