import { likePrefix } from '../../core/like-prefix.ts';
import { wrap } from '@mikro-orm/core';
import { GraphQLError } from 'graphql';
import { replayThenLive } from '../../infra/pg-feed.ts';
import { builder } from '../../graphql/builder.ts';
import { NodeRef, registerNode } from '../../graphql/node.ts';
import { payloadType } from '../../graphql/common.ts';
import type { FieldError } from '../../core/field-error.ts';
import { after, connectionOf, pageSize, toPage } from '../../graphql/connection.ts';
import { loaderFor } from '../../graphql/batch-loader.ts';
import { requireApp, type GraphQLContext } from '../../graphql/context.ts';
import { SEGMENT_KEYS, type SegmentKey } from '../../core/segments.ts';
import { Trial, type ITrial, type TrialView } from './trial.entity.ts';
import { SegmentChange, type ISegmentChange } from './segment-change.entity.ts';
import { exactlyOneSubject, startTrialRules, subjectOf, type TrialCommand } from './trials.service.ts';
import { z } from 'zod';
import { segmentCounts, trialOfSubject } from './trials.queries.ts';

export const SegmentKeyEnum = builder.enumType('SegmentKey', {
  description: 'A lifecycle segment; converted and expired are final',
  values: SEGMENT_KEYS,
});

export const TrialKindEnum = builder.enumType('TrialKind', {
  description: "Whose trial: a person's (userId) or an account's (accountId: a B2B workspace, Segment's groupId)",
  values: ['user', 'account'] as const,
});

export const TrialRef = builder.objectRef<TrialView>('Trial').implement({
  interfaces: [NodeRef],
  description: "One trial of one app (a person's or an account's), in one lifecycle segment",
  fields: (t) => ({
    id: t.exposeID('id'),
    appId: t.id({ resolve: (trial) => trial.app.id }),
    kind: t.field({ type: TrialKindEnum, resolve: (trial) => (trial.accountId != null ? 'account' : 'user') }),
    userId: t.exposeString('userId', { nullable: true, description: "The person's id; null for an account's trial" }),
    accountId: t.exposeString('accountId', { nullable: true, description: "The account's id (Segment's groupId); null for a person's trial" }),
    email: t.exposeString('email', { nullable: true, description: "The person's email; null for an account's trial (see account.members)" }),
    stripeCustomerId: t.exposeString('stripeCustomerId', { nullable: true }),
    workflowId: t.exposeString('workflowId', { description: 'Its lifecycle workflow in Temporal (runs are kept by Temporal, not here)' }),
    workflowUrl: t.string({
      nullable: true,
      description: 'Its lifecycle workflow in the Temporal Web UI (npm start: the embedded one; a deployment: TEMPORAL_UI_URL); null when none is configured',
      resolve: (trial, _args, { services }) => services.trials.workflowUrl(trial.workflowId),
    }),
    trialStart: t.expose('trialStart', { type: 'DateTime' }),
    trialEnd: t.expose('trialEnd', { type: 'DateTime' }),
    segment: t.field({
      type: SegmentKeyEnum,
      nullable: true,
      description: 'Null only until the lifecycle workflow records the first segment',
      resolve: (trial) => trial.segment as SegmentKey | null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const SegmentChangeRef = builder.objectRef<ISegmentChange>('SegmentChange').implement({
  interfaces: [NodeRef],
  description: 'One transition of a trial from one segment to another',
  fields: (t) => ({
    id: t.exposeID('id'),
    sequence: t.exposeInt('sequence', { description: 'Per trial, from 1, without gaps' }),
    trial: t.field({
      type: TrialRef,
      resolve: (change, _args, { em }) => (wrap(change.trial).isInitialized() ? change.trial : em.findOneOrFail(Trial, { id: change.trial.id })),
    }),
    oldSegment: t.field({
      type: SegmentKeyEnum,
      nullable: true,
      description: "Null for a trial's first segment",
      resolve: (change) => change.oldSegment as SegmentKey | null,
    }),
    newSegment: t.field({ type: SegmentKeyEnum, resolve: (change) => change.newSegment as SegmentKey }),
    reason: t.exposeString('reason', { description: 'snake_case reason code, e.g. aha_event_received' }),
    occurredAt: t.expose('occurredAt', { type: 'DateTime' }),
  }),
});

/** A trial's changes, oldest first; batched across the trials of one request. */
const changesOf = (trial: TrialView, ctx: GraphQLContext) =>
  loaderFor<string, ISegmentChange[]>(ctx, 'segmentChangesByTrial', async (trialIds) => {
    const rows = await ctx.em.find(SegmentChange, { trial: { $in: trialIds } }, { orderBy: { sequence: 'asc' } });
    const byTrial = new Map<string, ISegmentChange[]>(trialIds.map((id) => [id, []]));
    for (const row of rows) byTrial.get(row.trial.id)!.push(row);
    return byTrial;
  }).load(trial.id);

builder.objectFields(TrialRef, (t) => ({
  changes: t.field({
    type: [SegmentChangeRef],
    description: 'Every transition, oldest first',
    resolve: async (trial, _args, ctx) => (await changesOf(trial, ctx)) ?? [],
  }),
  latestChange: t.field({ type: SegmentChangeRef, nullable: true, resolve: async (trial, _args, ctx) => (await changesOf(trial, ctx))?.at(-1) ?? null }),
}));

const TrialConnection = connectionOf('Trial', TrialRef);

builder.queryField('trials', (t) =>
  t.field({
    type: TrialConnection,
    description: "The app's trials, newest first; at most 100 a page",
    args: {
      appId: t.arg.id({ required: true }),
      segment: t.arg({ type: SegmentKeyEnum, description: 'Only trials in this segment now' }),
      kind: t.arg({ type: TrialKindEnum, description: "Only people's or only accounts' trials" }),
      search: t.arg.string({ description: 'User id, account id or email starting with this (case-insensitive)' }),
      first: t.arg.int({ defaultValue: 20 }),
      after: t.arg.string(),
    },
    resolve: async (_root, args, { auth, em }) => {
      const appId = args.appId;
      requireApp(auth, appId);
      const first = pageSize(args.first);
      const prefix = args.search ? likePrefix(args.search) : null;
      const rows = await em.find(
        Trial,
        {
          app: appId,
          ...(args.segment ? { segment: args.segment } : {}),
          ...(args.kind === 'account' ? { accountId: { $ne: null } } : args.kind === 'user' ? { userId: { $ne: null } } : {}),
          ...(prefix ? { $or: [{ userId: { $ilike: prefix } }, { accountId: { $ilike: prefix } }, { email: { $ilike: prefix } }] } : {}),
          ...(args.after ? { $and: [after(args.after)] } : {}),
        },
        { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first + 1 },
      );
      return toPage(rows, first);
    },
  }),
);

/** Exactly one of userId and accountId: which trial an input means. */
const subjectRules = z.looseObject({ userId: z.string().nullish(), accountId: z.string().nullish() }).refine(exactlyOneSubject.check, exactlyOneSubject.issue);

builder.queryField('trial', (t) =>
  t.field({
    type: TrialRef,
    nullable: true,
    description: "A person's trial by userId, or an account's by accountId (exactly one)",
    args: { appId: t.arg.id({ required: true }), userId: t.arg.string(), accountId: t.arg.string() },
    validate: subjectRules,
    resolve: async (_root, args, { auth, em }) => {
      requireApp(auth, args.appId);
      return trialOfSubject(em, args.appId, subjectOf(args));
    },
  }),
);

const StartTrialInput = builder.inputType('StartTrialInput', {
  description: "Exactly one of userId (a person's trial) and accountId (an account's)",
  fields: (t) => ({
    appId: t.id({ required: true }),
    userId: t.string(),
    accountId: t.string({ description: "An account's trial: Segment's groupId (its members come from group calls and context.groupId)" }),
    email: t.string({ description: "A person's email (not for an account's trial)" }),
    stripeCustomerId: t.string(),
    trialStart: t.field({ type: 'DateTime', description: 'Default: now' }),
    trialEnd: t.field({ type: 'DateTime', description: 'Default: 14 days after trialStart' }),
  }),
  validate: startTrialRules,
});

type StartTrialPayload = { trial?: ITrial; errors: FieldError[] };

builder.mutationField('startTrial', (t) =>
  t.field({
    type: payloadType<StartTrialPayload>('StartTrialPayload', (p) => ({
      trial: p.field({ type: TrialRef, nullable: true, resolve: (payload) => payload.trial ?? null }),
    })),
    args: { input: t.arg({ type: StartTrialInput, required: true }) },
    resolve: async (_root, { input }, { auth, em, services }) => {
      requireApp(auth, input.appId);
      return services.trials.start(em, input);
    },
  }),
);

const TrialPayload = payloadType<StartTrialPayload>(
  'TrialPayload',
  (p) => ({
    trial: p.field({ type: TrialRef, nullable: true, resolve: (payload) => payload.trial ?? null }),
  }),
  'The trial after a command, or why the command was refused',
);

function trialCommandField(name: string, description: string, toCommand: (input: { trialEnd?: Date | null }) => TrialCommand, withTrialEnd: boolean) {
  const Input = builder.inputType(`${name[0]!.toUpperCase()}${name.slice(1)}Input`, {
    description: "The trial: a person's by userId, or an account's by accountId (exactly one)",
    fields: (t) => ({
      appId: t.id({ required: true }),
      userId: t.string(),
      accountId: t.string(),
      ...(withTrialEnd ? { trialEnd: t.field({ type: 'DateTime', required: true }) } : {}),
    }),
    validate: subjectRules,
  });
  builder.mutationField(name, (t) =>
    t.field({
      type: TrialPayload,
      description,
      args: { input: t.arg({ type: Input, required: true }) },
      resolve: async (_root, { input }, { auth, em, services }) => {
        const appId = input.appId;
        requireApp(auth, appId);
        return services.trials.command(em, appId, subjectOf(input), toCommand(input as { trialEnd?: Date }));
      },
    }),
  );
}

trialCommandField('extendTrial', 'Moves the trial end; the segment is re-evaluated at once', (input) => ({ kind: 'extend', trialEnd: input.trialEnd! }), true);
trialCommandField('convertTrial', 'Marks the trial converted (final)', () => ({ kind: 'convert' }), false);
trialCommandField('cancelTrial', 'Ends the trial now: expired, reason trial_cancelled (final)', () => ({ kind: 'cancel' }), false);

const DeleteTrialInput = builder.inputType('DeleteTrialInput', {
  description: "The trial: a person's by userId, or an account's by accountId (exactly one)",
  fields: (t) => ({ appId: t.id({ required: true }), userId: t.string(), accountId: t.string() }),
  validate: subjectRules,
});

builder.mutationField('deleteTrial', (t) =>
  t.field({
    type: payloadType<{ deletedId?: string; errors: FieldError[] }>('DeleteTrialPayload', (p) => ({
      deletedId: p.exposeID('deletedId', { nullable: true }),
    })),
    description: 'Cancels an open trial (expired, trial_cancelled) and deletes it with its segment history',
    args: { input: t.arg({ type: DeleteTrialInput, required: true }) },
    resolve: async (_root, { input }, { auth, em, services }) => {
      requireApp(auth, input.appId);
      return services.trials.remove(em, input.appId, subjectOf(input));
    },
  }),
);

export const SegmentCount = builder.objectRef<{ key: SegmentKey; trials: number }>('SegmentCount').implement({
  fields: (t) => ({
    key: t.field({ type: SegmentKeyEnum, resolve: (row) => row.key }),
    trials: t.exposeInt('trials'),
  }),
});

builder.queryField('segments', (t) =>
  t.field({
    type: [SegmentCount],
    description: "Every segment with how many of the app's trials are in it now",
    args: { appId: t.arg.id({ required: true }) },
    resolve: async (_root, { appId }, { auth, em }) => {
      requireApp(auth, appId);
      return segmentCounts(em, appId);
    },
  }),
);

/** A reconnecting subscriber gets at most this many missed changes replayed. */
const MAX_REPLAY = 10_000;

builder.subscriptionField('segmentChanged', (t) =>
  t.field({
    type: SegmentChangeRef,
    description: "Each recorded transition of the app's trials, filtered on the server",
    args: {
      appId: t.arg.id({ required: true }),
      segments: t.arg({ type: [SegmentKeyEnum], description: 'Only changes into these segments' }),
      trialId: t.arg.id({ description: 'Only this trial' }),
      since: t.arg.string({ description: 'ISO-8601 time: changes since then are replayed first (oldest first), then live, with no gap or duplicate' }),
    },
    subscribe: (_root, args, { auth, services, em }) => {
      const appId = args.appId;
      requireApp(auth, appId);
      const segments = args.segments ? new Set<string>(args.segments) : null;
      const trialId = args.trialId == null ? null : args.trialId;
      const live = services.feeds.segmentChanges.subscribe(
        (change) => change.app.id === appId && (segments === null || segments.has(change.newSegment)) && (trialId === null || change.trial.id === trialId),
      );
      if (args.since == null) return live;
      const since = new Date(args.since);
      if (Number.isNaN(since.getTime()))
        throw new GraphQLError(`since ${JSON.stringify(args.since)} is not an ISO-8601 time`, { extensions: { code: 'BAD_USER_INPUT' } });
      return replayThenLive(live, () =>
        em.find(
          SegmentChange,
          { app: appId, occurredAt: { $gte: since }, ...(segments ? { newSegment: { $in: [...segments] } } : {}), ...(trialId ? { trial: trialId } : {}) },
          { populate: ['trial'], orderBy: { occurredAt: 'asc', sequence: 'asc' }, limit: MAX_REPLAY },
        ),
      );
    },
    resolve: (change) => change,
  }),
);

registerNode('trl_', {
  type: 'Trial',
  load: async (id, { em }) => {
    const trial = await em.findOne(Trial, { id });
    return trial && { id, appId: trial.app.id, node: trial };
  },
});
registerNode('sgc_', {
  type: 'SegmentChange',
  load: async (id, { em }) => {
    const change = await em.findOne(SegmentChange, { id });
    return change && { id, appId: change.app.id, node: change };
  },
});
