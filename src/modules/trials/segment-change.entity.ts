import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { App } from '../apps/app.entity.ts';
import { Trial } from './trial.entity.ts';
import { DWELL_AND_KIND_TRIGGER_DDL, ROLL_UP_MARKING_AHA_TRIGGER_DDL } from './segment-rollup.ddl.ts';

/**
 * One recorded segment transition. (trial, sequence) is unique, which is what makes
 * recording idempotent under activity retries and workflow replays.
 */
export const SegmentChange = defineEntity({
  name: 'SegmentChange',
  tableName: 'segment_changes',
  uniques: [{ properties: ['trial', 'sequence'] }],
  indexes: [{ properties: ['app', 'occurredAt'] }],
  // The insights' rollups (segment_move_hours, a trial's path), kept by the database on every
  // move recorded or deleted; deferred to commit so a count's row is locked only for that instant.
  // Created by the insight_rollups migration, counted by kind since account_insights, moving the trial's segment too since
  // move_writes, marking its aha since aha_marked_by_move; declared here so the schema check knows it.
  triggers: [
    { name: 'segment_changes_roll_up', timing: 'after', events: ['insert', 'delete'], expression: ROLL_UP_MARKING_AHA_TRIGGER_DDL },
    { name: 'segment_changes_dwell', timing: 'before', events: ['insert'], expression: DWELL_AND_KIND_TRIGGER_DDL },
  ],
  properties: {
    id: p.string().primary(),
    // No key of its own to the app (the move_writes migration): its trial's key leads there, and takes the move with it.
    app: () => p.manyToOne(App).createForeignKeyConstraint(false),
    trial: () => p.manyToOne(Trial).deleteRule('cascade'),
    sequence: p.integer(),
    oldSegment: p.string().nullable(),
    newSegment: p.string(),
    reason: p.string(),
    occurredAt: p.datetime(),
    /** Seconds since the trial's previous move (null for its first), set by the database as the move is stored. */
    dwellSeconds: p.double().nullable(),
    /** Its trial's kind, `user` or `account`, set by the database as the move is stored (the rollups count per kind). */
    trialKind: p.string().default('user'),
  },
});
export type ISegmentChange = InferEntity<typeof SegmentChange>;
