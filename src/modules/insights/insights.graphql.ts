/**
 * Insights over an app's recorded transitions: segment sizes over time, flow between segments
 * with time spent in each, what converts (by path, by reason, by start week), and a preview of
 * new settings. Each takes the app's id and is refused to another app's key.
 */
import { GraphQLError } from 'graphql';
import type { Rate } from '../../core/insights.ts';
import { SEGMENT_KEYS } from '../../core/segments.ts';
import { builder } from '../../graphql/builder.ts';
import { payloadType } from '../../graphql/common.ts';
import { requireApp } from '../../graphql/context.ts';
import { UpdateSegmentSettingsInput } from '../trials/settings.graphql.ts';
import { SegmentCount, SegmentKeyEnum, TrialKindEnum } from '../trials/trial.graphql.ts';
import type { TrialKind } from '../../core/account-rules.ts';
import type { CohortRate, PathRate, ReasonRate, SegmentMove, TimeInSegment } from './insights.queries.ts';
import { conversion, previewSettings, segmentFlow, segmentSizes, type InsightRange, type SettingsPreview } from './insights.service.ts';

const InsightBucket = builder.enumType('InsightBucket', { values: ['hour', 'day', 'week'] as const, description: 'UTC; weeks start on Monday' });

/** What every insight over a range takes: the app, [from, to), and which trials. */
export const rangeArgs = builder.args((t) => ({
  appId: t.id({ required: true }),
  from: t.field({ type: 'DateTime', required: true }),
  to: t.field({ type: 'DateTime', required: true }),
  kind: t.field({ type: TrialKindEnum, description: "Only people's or only accounts' trials (default: both)" }),
}));

/** The longest range an insight reads. */
const MAX_RANGE_DAYS = 400;

export function rangeOf(args: { from: Date; to: Date; kind?: TrialKind | null }): InsightRange {
  if (!(args.to.getTime() > args.from.getTime())) throw new GraphQLError('to must be after from', { extensions: { code: 'BAD_USER_INPUT' } });
  if (args.to.getTime() - args.from.getTime() > MAX_RANGE_DAYS * 86_400_000)
    throw new GraphQLError(`a range is at most ${MAX_RANGE_DAYS} days`, { extensions: { code: 'BAD_USER_INPUT' } });
  return { from: args.from, to: args.to, kind: args.kind ?? null };
}

const SegmentSizeBucket = builder.objectRef<{ start: number; counts: Record<string, number> }>('SegmentSizeBucket').implement({
  description: 'How many trials were in each segment at the end of one bucket (a trial counts in its segment from one move to the next)',
  fields: (t) => ({
    start: t.field({ type: 'DateTime', resolve: (bucket) => new Date(bucket.start) }),
    counts: t.field({
      type: [SegmentCount],
      description: 'Every segment, in board order',
      resolve: (bucket) => SEGMENT_KEYS.map((key) => ({ key, trials: bucket.counts[key] ?? 0 })),
    }),
  }),
});

builder.queryField('segmentSizes', (t) =>
  t.field({
    type: [SegmentSizeBucket],
    description: 'Segment sizes over time, derived from the recorded transitions: one entry per bucket of [from, to), oldest first (at most 2,000)',
    args: { ...rangeArgs, bucket: t.arg({ type: InsightBucket, defaultValue: 'day' }) },
    resolve: async (_root, args, { auth, em }) => {
      requireApp(auth, args.appId);
      const sizes = await segmentSizes(em, args.appId, rangeOf(args), args.bucket ?? 'day');
      if ('error' in sizes) throw new GraphQLError(sizes.error, { extensions: { code: 'BAD_USER_INPUT' } });
      return sizes.buckets;
    },
  }),
);

const SegmentMoveRef = builder.objectRef<SegmentMove>('SegmentMove').implement({
  description: 'How many moves went from one segment to another',
  fields: (t) => ({
    from: t.field({ type: SegmentKeyEnum, nullable: true, description: "Null: the trial's first segment", resolve: (move) => move.from }),
    to: t.field({ type: SegmentKeyEnum, resolve: (move) => move.to }),
    trials: t.exposeInt('trials'),
  }),
});

const TimeInSegmentRef = builder.objectRef<TimeInSegment>('TimeInSegment').implement({
  description: 'How long trials stayed in a segment before they left it',
  fields: (t) => ({
    segment: t.field({ type: SegmentKeyEnum, resolve: (row) => row.segment }),
    left: t.exposeInt('left', { description: 'Moves out of the segment in the range' }),
    medianSeconds: t.exposeFloat('medianSeconds'),
    p90Seconds: t.exposeFloat('p90Seconds'),
    approximate: t.exposeBoolean('approximate', {
      description:
        'Past 20,000 moves out in the range, percentiles come from dwell bins of 4 a doubling (within 9 % for dwells over a minute); below, from every move',
    }),
  }),
});

const SegmentFlowRef = builder.objectRef<{ moves: () => Promise<SegmentMove[]>; timeInSegment: () => Promise<TimeInSegment[]> }>('SegmentFlow').implement({
  fields: (t) => ({
    moves: t.field({ type: [SegmentMoveRef], description: 'Most frequent first (whole hours, UTC)', resolve: (flow) => flow.moves() }),
    timeInSegment: t.field({ type: [TimeInSegmentRef], resolve: (flow) => flow.timeInSegment() }),
  }),
});

builder.queryField('segmentFlow', (t) =>
  t.field({
    type: SegmentFlowRef,
    description: 'The moves recorded in [from, to), from → to, and the time spent in each segment before leaving it',
    args: rangeArgs,
    resolve: (_root, args, { auth, em }) => {
      requireApp(auth, args.appId);
      return segmentFlow(em, args.appId, rangeOf(args));
    },
  }),
);

/** The counts every conversion row carries, and its rate. */
function rateFields<T extends Rate>(t: PothosSchemaTypes.ObjectFieldBuilder<typeof builder.$inferSchemaTypes, T>) {
  return {
    trials: t.int({ resolve: (row) => row.trials }),
    converted: t.int({ resolve: (row) => row.converted }),
    expired: t.int({ resolve: (row) => row.expired }),
    open: t.int({ resolve: (row) => row.open }),
    conversionRate: t.float({
      nullable: true,
      description: 'Converted among the finished (converted or expired); null while none has finished',
      resolve: (row) => row.conversionRate,
    }),
  };
}

const ConversionCounts = builder.objectRef<Rate>('ConversionCounts').implement({ fields: (t) => rateFields(t) });
const PathConversion = builder.objectRef<PathRate>('PathConversion').implement({
  fields: (t) => ({
    path: t.field({ type: [SegmentKeyEnum], description: 'The segments the trial went through before its outcome, in order', resolve: (row) => row.path }),
    ...rateFields(t),
  }),
});
const ReasonConversion = builder.objectRef<ReasonRate>('ReasonConversion').implement({
  fields: (t) => ({
    reason: t.exposeString('reason', { description: "The reason of the trial's last move before its outcome (its current one while open)" }),
    ...rateFields(t),
  }),
});
const CohortConversion = builder.objectRef<CohortRate>('CohortConversion').implement({
  fields: (t) => ({
    weekStart: t.field({ type: 'DateTime', description: 'Monday 00:00 UTC of the week the trials started', resolve: (row) => row.weekStart }),
    ...rateFields(t),
  }),
});

const ConversionRef = builder
  .objectRef<{ byPath: PathRate[]; otherPaths: Rate | null; byReason: ReasonRate[]; byCohort: CohortRate[] }>('Conversion')
  .implement({
    description: 'Conversion of the trials that started in the range, with the counts behind each rate',
    fields: (t) => ({
      byPath: t.field({ type: [PathConversion], description: 'The 20 most common paths, most common first', resolve: (c) => c.byPath }),
      otherPaths: t.field({ type: ConversionCounts, nullable: true, description: 'Every other path, summed', resolve: (c) => c.otherPaths }),
      byReason: t.field({ type: [ReasonConversion], description: 'Most common first', resolve: (c) => c.byReason }),
      byCohort: t.field({ type: [CohortConversion], description: 'By the week the trial started, oldest first', resolve: (c) => c.byCohort }),
    }),
  });

builder.queryField('conversion', (t) =>
  t.field({
    type: ConversionRef,
    description: 'What converts: by path of segments, by reason, by trial-start week, for the trials that started in [from, to)',
    args: rangeArgs,
    resolve: (_root, args, { auth, em }) => {
      requireApp(auth, args.appId);
      return conversion(em, args.appId, rangeOf(args));
    },
  }),
);

const PreviewMoveRef = builder.objectRef<SettingsPreview['moves'][number]>('PreviewMove').implement({
  fields: (t) => ({
    from: t.field({ type: SegmentKeyEnum, nullable: true, description: 'Null: no segment recorded yet', resolve: (move) => move.from }),
    to: t.field({ type: SegmentKeyEnum, resolve: (move) => move.to }),
    trials: t.exposeInt('trials'),
    sample: t.exposeStringList('sample', { description: 'Up to five of the users who would move' }),
  }),
});

builder.queryField('previewSegmentSettings', (t) =>
  t.field({
    type: payloadType<SettingsPreview>('SettingsPreviewPayload', (p) => ({
      evaluated: p.exposeInt('evaluated', { description: 'Open trials looked at' }),
      unchanged: p.exposeInt('unchanged', { description: 'Open trials that would stay where they are' }),
      moves: p.field({ type: [PreviewMoveRef], description: 'Largest first', resolve: (preview) => preview.moves }),
    })),
    description:
      "What updateSegmentSettings with this input would do to the app's open trials now, without saving it or touching any workflow " +
      '(durations, the members bar, and new aha events or rules against the events already stored; conversion events count for events that arrive afterwards)',
    args: { input: t.arg({ type: UpdateSegmentSettingsInput, required: true }) },
    resolve: (_root, { input }, { auth, em }) => {
      requireApp(auth, input.appId);
      const { appId, ...fields } = input;
      return previewSettings(em, appId, fields);
    },
  }),
);
