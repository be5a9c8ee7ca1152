import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { App } from '../apps/app.entity.ts';
import { Trial } from './trial.entity.ts';

/**
 * One recorded segment transition. (trial, sequence) is unique, which is what makes
 * recording idempotent under activity retries and workflow replays.
 */
export const SegmentChange = defineEntity({
  name: 'SegmentChange',
  tableName: 'segment_changes',
  uniques: [{ properties: ['trial', 'sequence'] }],
  indexes: [{ properties: ['app', 'occurredAt'] }],
  properties: {
    id: p.string().primary(),
    app: () => p.manyToOne(App).deleteRule('cascade'),
    trial: () => p.manyToOne(Trial).deleteRule('cascade'),
    sequence: p.integer(),
    oldSegment: p.string().nullable(),
    newSegment: p.string(),
    reason: p.string(),
    occurredAt: p.datetime(),
  },
});
export type ISegmentChange = InferEntity<typeof SegmentChange>;
