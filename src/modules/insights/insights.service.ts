/** The insights an app's record answers: segment sizes over time, flow between segments, what converts, and a settings preview. */
import { rankDrivers } from '../../core/conversion-drivers.ts';
import { driverCounts } from './drivers.queries.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { FieldError } from '../../core/field-error.ts';
import type { TrialKind } from '../../core/account-rules.ts';
import { bucketStarts, previewMoves, segmentSizeSeries, type Bucket, type PreviewMove, type SegmentCounts } from '../../core/insights.ts';
import { loadSettings, mergeSettings, toSegmentSettings, type SettingsInput } from '../trials/settings.service.ts';
import { conversionBreakdown, openTrialFacts, segmentMoveDeltas, segmentMoves, timeInSegment } from './insights.queries.ts';

/** A range of time, and which trials (null: people's and accounts' alike). */
export type InsightRange = { from: Date; to: Date; kind: TrialKind | null };

export async function segmentSizes(
  em: EntityManager,
  appId: string,
  range: InsightRange,
  bucket: Bucket,
): Promise<{ buckets: Array<{ start: number; counts: SegmentCounts }> } | { error: string }> {
  const starts = bucketStarts(range.from.getTime(), range.to.getTime(), bucket);
  if ('error' in starts) return starts;
  const first = new Date(starts[0]!);
  const { before, deltas } = await segmentMoveDeltas(em, appId, first, range.to, bucket, range.kind);
  return { buckets: segmentSizeSeries(before, deltas, starts) };
}

/** The flow of a range: each part is read only when asked for (time in segment reads the moves themselves, not the rollup). */
export function segmentFlow(em: EntityManager, appId: string, { from, to, kind }: InsightRange) {
  return { moves: () => segmentMoves(em, appId, from, to, kind), timeInSegment: () => timeInSegment(em, appId, from, to, kind) };
}

export const conversion = (em: EntityManager, appId: string, { from, to, kind }: InsightRange) => conversionBreakdown(em, appId, from, to, kind);

/** Which events predict conversion among the trials started in the range that finished (core/conversion-drivers.ts). */
export async function conversionDrivers(em: EntityManager, appId: string, range: InsightRange) {
  const settings = await loadSettings(em, appId);
  const { finished, events } = await driverCounts(em, appId, range, settings.conversionEvents);
  return { finishedTrials: finished.trials, convertedTrials: finished.converted, drivers: rankDrivers(finished, events) };
}

export interface SettingsPreview {
  evaluated: number;
  unchanged: number;
  moves: PreviewMove[];
  errors: FieldError[];
}

/**
 * What saving these settings would do to the app's open trials, without saving them or touching
 * a workflow. A settings change re-evaluates the durations (aha and conversion events count for
 * events that arrive afterwards), so the durations are what can move a trial now, and for an
 * account's trial how many members must reach aha.
 */
export async function previewSettings(em: EntityManager, appId: string, input: SettingsInput, now = Date.now()): Promise<SettingsPreview> {
  const { view, errors } = mergeSettings(await loadSettings(em, appId), input);
  if (errors.length) return { evaluated: 0, unchanged: 0, moves: [], errors };
  const trials = await openTrialFacts(em, appId);
  const { moves, unchanged } = previewMoves(trials, toSegmentSettings(view), view.accountAhaMembers, now);
  return { evaluated: trials.length, unchanged, moves, errors: [] };
}
