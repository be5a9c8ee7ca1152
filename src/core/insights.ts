/**
 * Lifecycle insights, decided in pure functions: time buckets, segment sizes over time from
 * the recorded moves, conversion rates, and what new durations would do to open trials.
 * The SQL that feeds them lives in the insights module; nothing here does I/O.
 */
import { accountReachedAha } from './account-rules.ts';
import { decideSegment, type SegmentSettings } from './segment-rules.ts';
import { SEGMENT_KEYS, type SegmentKey } from './segments.ts';

export type Bucket = 'hour' | 'day' | 'week';

const BUCKET_MS: Record<Bucket, number> = { hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 };
/** Weeks start on Monday (UTC): 2000-01-03 was one. */
export const BUCKET_ORIGIN = Date.UTC(2000, 0, 3);
/** A range is cut into at most this many buckets. */
export const MAX_BUCKETS = 2000;

export const bucketInterval = (bucket: Bucket): string => `1 ${bucket}`;

/** The start of the bucket holding a time. */
export function bucketOf(at: number, bucket: Bucket): number {
  const size = BUCKET_MS[bucket];
  return BUCKET_ORIGIN + Math.floor((at - BUCKET_ORIGIN) / size) * size;
}

/** The buckets covering [from, to): starts from from's bucket, up to the one holding the instant before to. */
export function bucketStarts(from: number, to: number, bucket: Bucket): number[] | { error: string } {
  if (!(to > from)) return { error: 'to must be after from' };
  const size = BUCKET_MS[bucket];
  const first = bucketOf(from, bucket);
  const count = Math.floor((bucketOf(to - 1, bucket) - first) / size) + 1;
  if (count > MAX_BUCKETS) return { error: `at most ${MAX_BUCKETS} buckets: choose a larger bucket or a shorter range` };
  return Array.from({ length: count }, (_, index) => first + index * size);
}

/**
 * [from, to) as the whole UTC days a daily rollup answers for, and the part-days at its ends (empty or not) that
 * must be read row by row: `days` is [first day, day after the last) or null when no whole day fits.
 */
export function splitByWholeDays(from: number, to: number): { days: [number, number] | null; edges: Array<[number, number]> } {
  const day = BUCKET_MS.day;
  const first = Math.ceil(from / day) * day;
  const last = Math.floor(to / day) * day;
  if (first >= last) return { days: null, edges: [[from, Math.max(from, to)]] };
  const edges: Array<[number, number]> = [];
  if (from < first) edges.push([from, first]);
  if (last < to) edges.push([last, to]);
  return { days: [first, last], edges };
}

export type SegmentCounts = Record<SegmentKey, number>;

const zeroCounts = (): SegmentCounts => Object.fromEntries(SEGMENT_KEYS.map((key) => [key, 0])) as SegmentCounts;

/** Moves counted into (+1, new segment) and out of (−1, old segment) one bucket. */
export interface BucketDelta {
  bucketStart: number;
  segment: string;
  delta: number;
}

/**
 * How many trials were in each segment at the end of each bucket. A trial counts in a segment
 * from the move that put it there to the move that took it out, so the size at a time is the
 * moves in minus the moves out before it: `before` holds those sums up to the first bucket.
 */
export function segmentSizeSeries(before: ReadonlyArray<{ segment: string; delta: number }>, deltas: readonly BucketDelta[], starts: readonly number[]) {
  const running = zeroCounts();
  const add = (segment: string, delta: number) => {
    if (segment in running) running[segment as SegmentKey] += delta;
  };
  for (const { segment, delta } of before) add(segment, delta);
  const byBucket = Map.groupBy(deltas, (delta) => delta.bucketStart);
  return starts.map((start) => {
    for (const { segment, delta } of byBucket.get(start) ?? []) add(segment, delta);
    return { start, counts: { ...running } };
  });
}

/** A share with the counts it comes from, so a rate of 1 out of 2 reads as such. */
export interface Rate {
  trials: number;
  converted: number;
  expired: number;
  open: number;
  /** Converted among the finished (converted or expired); null while none has finished. */
  conversionRate: number | null;
}

export function rateOf({ trials, converted, expired }: { trials: number; converted: number; expired: number }): Rate {
  const finished = converted + expired;
  return { trials, converted, expired, open: trials - finished, conversionRate: finished ? converted / finished : null };
}

/** What the trials table knows of one open trial: the facts its workflow decides on. */
export interface OpenTrialFacts {
  /** Its user's id, or its account's. */
  name: string;
  segment: SegmentKey | null;
  ahaReached: boolean;
  /** An account's trial: how many of its members reached aha (null for a person's). */
  ahaMembers: number | null;
  /** Epoch ms: the later of the stored activity and the trial's creation (its workflow's first activity). */
  lastActivityAt: number;
  trialEnd: number;
}

export interface PreviewMove {
  from: SegmentKey | null;
  to: SegmentKey;
  trials: number;
  /** A few of the users (or accounts) who would move, for a look before saving. */
  sample: string[];
}

/** Which open trials new durations would move, and where: exactly what each workflow decides when the change reaches it. */
export function previewMoves(
  trials: readonly OpenTrialFacts[],
  settings: SegmentSettings,
  accountAhaMembers: number,
  now: number,
  sampleSize = 5,
): { moves: PreviewMove[]; unchanged: number } {
  const moves = new Map<string, PreviewMove>();
  let unchanged = 0;
  for (const trial of trials) {
    // An account's workflow re-reads its members' aha on a settings change: a lower bar may be met already.
    const ahaReached = trial.ahaReached || (trial.ahaMembers !== null && accountReachedAha(trial.ahaMembers, accountAhaMembers));
    const to = decideSegment({ converted: false, ahaReached, lastActivityAt: trial.lastActivityAt, trialEnd: trial.trialEnd }, now, settings);
    if (to === trial.segment) {
      unchanged += 1;
      continue;
    }
    const key = `${trial.segment}>${to}`;
    const move = moves.get(key) ?? { from: trial.segment, to, trials: 0, sample: [] };
    move.trials += 1;
    if (move.sample.length < sampleSize) move.sample.push(trial.name);
    moves.set(key, move);
  }
  return { moves: [...moves.values()].sort((a, b) => b.trials - a.trials), unchanged };
}

/** Dwell bins: 4 per doubling of seconds, as the database's rollup trigger counts them (floor(4·log2(1 + s))). */
export const dwellBinOf = (seconds: number): number => Math.floor((4 * Math.log(1 + Math.max(seconds, 0))) / Math.LN2);
/** The middle of a bin, geometrically: within 9 % of any dwell over a minute in it. */
export const dwellBinMiddle = (bin: number): number => 2 ** ((bin + 0.5) / 4) - 1;

/** The p-th percentile (0 to 1) of dwells counted per bin: the middle of the bin holding that rank. */
export function percentileFromBins(bins: ReadonlyArray<{ bin: number; count: number }>, p: number): number | null {
  const sorted = [...bins].filter((entry) => entry.count > 0).sort((a, b) => a.bin - b.bin);
  const total = sorted.reduce((sum, entry) => sum + entry.count, 0);
  if (!total) return null;
  // The rank percentile_cont interpolates at, rounded down to a whole departure.
  const rank = Math.floor(p * (total - 1));
  let seen = 0;
  for (const entry of sorted) {
    seen += entry.count;
    if (seen > rank) return dwellBinMiddle(entry.bin);
  }
  return dwellBinMiddle(sorted.at(-1)!.bin);
}
