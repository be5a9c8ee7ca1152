/** The insights an app's record answers: segment sizes over time, flow between segments, what converts, and a settings preview. */
import { rankDrivers } from '../../core/conversion-drivers.ts';
import { driverCounts } from './drivers.queries.ts';
import { openTrialUsersMeetingRules, segmentAhaRules } from '../trials/aha-facts.ts';
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
 * a workflow. Saving re-evaluates every open trial: the durations, for an account's trial how many
 * members must reach aha, and, when the aha events or rules change, whether a person's stored
 * events already meet the new ones (aha events marked from the signal queue move trials at once).
 */
export async function previewSettings(em: EntityManager, appId: string, input: SettingsInput, now = Date.now()): Promise<SettingsPreview> {
  const { view, errors } = mergeSettings(await loadSettings(em, appId), input);
  if (errors.length) return { evaluated: 0, unchanged: 0, moves: [], errors };
  const trials = await openTrialFacts(em, appId);
  if (input.ahaEvents != null || input.ahaRules != null || input.eventAllowList != null) {
    const reaching = await openTrialUsersMeetingRules(em, appId, segmentAhaRules(view));
    for (const trial of trials) if (trial.ahaMembers === null && !trial.ahaReached && reaching.has(trial.name)) trial.ahaReached = true;
  }
  const { moves, unchanged } = previewMoves(trials, toSegmentSettings(view), view.accountAhaMembers, now);
  return { evaluated: trials.length, unchanged, moves, errors: [] };
}
