/** Accounts (B2B workspaces) in GraphQL: `Trial.account` with its traits and its members. */
import { builder } from '../../graphql/builder.ts';
import { connectionOf, decodeCursor, pageSize, toPage } from '../../graphql/connection.ts';
import { TrialRef } from '../trials/trial.graphql.ts';
import { accountsOf, membersPage, type AccountView, type MemberView } from './accounts.queries.ts';
import { loaderFor } from '../../graphql/batch-loader.ts';

/** A member keyed for the connection: newest activity first, then user id. */
type KeyedMember = MemberView & { id: string; createdAt: Date };
const keyed = (member: MemberView): KeyedMember => ({ ...member, id: member.userId, createdAt: member.lastActiveAt });

const AccountMemberRef = builder.objectRef<KeyedMember>('AccountMember').implement({
  description: 'A person in an account: from a group call, or an event carrying context.groupId',
  fields: (t) => ({
    userId: t.exposeString('userId'),
    email: t.exposeString('email', { nullable: true, description: 'From their identify traits' }),
    joinedAt: t.expose('joinedAt', { type: 'DateTime' }),
    lastActiveAt: t.expose('lastActiveAt', { type: 'DateTime', description: 'Their latest event that counts for this account (to within about 90 seconds)' }),
    aha: t.boolean({ description: "Whether their events for this account met the app's aha rule", resolve: (member) => member.ahaAt !== null }),
    ahaAt: t.expose('ahaAt', { type: 'DateTime', nullable: true }),
  }),
});

const AccountMemberConnection = connectionOf('AccountMember', AccountMemberRef);

const AccountRef = builder.objectRef<AccountView>('Account').implement({
  description: "A company or workspace of the app (Segment's groupId), whose trial its members share",
  fields: (t) => ({
    id: t.exposeID('accountId', { description: "The app's id for it (Segment's groupId)" }),
    name: t.exposeString('name', { nullable: true, description: "Its name trait (group calls' traits.name, Usermaven's company.name)" }),
    traits: t.string({ description: 'Its traits as JSON: the latest group call wins, key by key', resolve: (account) => JSON.stringify(account.traits) }),
    memberCount: t.exposeInt('memberCount'),
    lastActiveMember: t.field({
      type: AccountMemberRef,
      nullable: true,
      description: 'Who was active last (null: no member yet)',
      resolve: (account) => account.lastActiveMember && keyed(account.lastActiveMember),
    }),
    members: t.field({
      type: AccountMemberConnection,
      description: 'The most recently active first; at most 100 a page',
      args: { first: t.arg.int({ defaultValue: 20 }), after: t.arg.string() },
      resolve: async (account, args, { em }) => {
        const first = pageSize(args.first);
        const rows = await membersPage(em, account.appId, account.accountId, first + 1, args.after ? decodeCursor(args.after) : null);
        return toPage(rows.map(keyed), first);
      },
    }),
  }),
});

builder.objectFields(TrialRef, (t) => ({
  account: t.field({
    type: AccountRef,
    nullable: true,
    description: "An account's trial: the account and its members; null for a person's",
    // Batched: a page of trials loads its accounts in one query.
    resolve: async (trial, _args, ctx) =>
      trial.accountId == null
        ? null
        : ((await loaderFor<string, AccountView>(ctx, `accounts:${trial.app.id}`, (ids) => accountsOf(ctx.em, trial.app.id, ids)).load(trial.accountId)) ??
          null),
  }),
}));
