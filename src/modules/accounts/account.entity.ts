import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { App } from '../apps/app.entity.ts';

/** A company or workspace of an app (Segment's groupId), with its traits: the latest group call's win, key by key. */
export const Account = defineEntity({
  name: 'Account',
  tableName: 'accounts',
  uniques: [{ properties: ['app', 'accountId'] }],
  properties: {
    id: p.bigint().primary().autoincrement(),
    app: () => p.manyToOne(App).deleteRule('cascade'),
    /** The app's own id for it: Segment's groupId, Usermaven's company id. */
    accountId: p.string(),
    name: p.string().nullable(),
    traits: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export type IAccount = InferEntity<typeof Account>;

/**
 * A person's membership of an account, learned from group calls and from `context.groupId`
 * on their events. Kept per account: an event tagged with one account does not make its
 * sender active (or aha) in another.
 */
export const AccountMember = defineEntity({
  name: 'AccountMember',
  tableName: 'account_members',
  uniques: [{ properties: ['app', 'accountId', 'userId'] }],
  indexes: [{ properties: ['app', 'userId'] }],
  properties: {
    id: p.bigint().primary().autoincrement(),
    app: () => p.manyToOne(App).deleteRule('cascade'),
    accountId: p.string(),
    userId: p.string(),
    /** The latest email the person's identify traits carried. */
    email: p.string().nullable(),
    joinedAt: p.datetime(),
    /** Their latest event counted for this account (kept to within about 90 s: a write a minute at most). */
    lastActiveAt: p.datetime(),
    /** When their events for this account first met the app's aha rule; null: not yet. */
    ahaAt: p.datetime().nullable(),
  },
});
export type IAccountMember = InferEntity<typeof AccountMember>;
