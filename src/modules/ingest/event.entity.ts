import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { App } from '../apps/app.entity.ts';

/**
 * Every accepted event. (app, messageId) is unique: a re-sent message is acknowledged and
 * counted once, for as long as the row is kept (longer than Segment's 7-day window).
 */
export const Event = defineEntity({
  name: 'Event',
  tableName: 'events',
  uniques: [{ properties: ['app', 'messageId'] }],
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
    receivedAt: p.datetime(),
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
