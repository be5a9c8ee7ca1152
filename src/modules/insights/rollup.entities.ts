import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * How many moves from one segment to another an app's trials made in one hour (UTC). Kept by a
 * database trigger on segment_changes (see the insight_rollups migration), read by the insights.
 */
export const SegmentMoveHour = defineEntity({
  name: 'SegmentMoveHour',
  tableName: 'segment_move_hours',
  properties: {
    appId: p.string().primary(),
    hour: p.datetime().primary(),
    /** The trials' kind: `user` or `account`. */
    kind: p.string().primary(),
    /** '' for a trial's first segment. */
    oldSegment: p.string().primary(),
    newSegment: p.string().primary(),
    moves: p.integer(),
  },
});
export type ISegmentMoveHour = InferEntity<typeof SegmentMoveHour>;

/** How many trials left a segment after a dwell in one bin (4 bins per doubling of seconds), in one hour (UTC); kept by the same trigger. */
export const SegmentDwellHour = defineEntity({
  name: 'SegmentDwellHour',
  tableName: 'segment_dwell_hours',
  properties: {
    appId: p.string().primary(),
    hour: p.datetime().primary(),
    kind: p.string().primary(),
    segment: p.string().primary(),
    bin: p.integer().primary(),
    departures: p.integer(),
  },
});

/**
 * Finished trials by the UTC day they started: how many did an event before their outcome and how
 * many of those converted (event '': every finished trial of the day). Kept by a trigger on
 * trial_outcomes (outcome-rollup.ddl.ts), read by conversion drivers.
 */
export const DriverDayCount = defineEntity({
  name: 'DriverDayCount',
  tableName: 'driver_day_counts',
  properties: {
    appId: p.string().primary(),
    kind: p.string().primary(),
    startDay: p.date().primary(),
    event: p.string().primary(),
    trials: p.integer(),
    converted: p.integer(),
  },
});
export type IDriverDayCount = InferEntity<typeof DriverDayCount>;

/**
 * Finished trials (converted or expired) by the UTC day they started, kind, path of open segments and last open reason.
 * Kept by a trigger on trials (trials/finished-rollup.ddl.ts), read by conversion for the range's whole days.
 */
export const FinishedTrialCount = defineEntity({
  name: 'FinishedTrialCount',
  tableName: 'finished_trial_counts',
  properties: {
    appId: p.string().primary(),
    kind: p.string().primary(),
    startDay: p.date().primary(),
    path: p.text().primary(),
    /** '' when the trial never had an open segment. */
    reason: p.string().primary(),
    /** `converted` or `expired`. */
    outcome: p.string().primary(),
    trials: p.integer(),
  },
});
