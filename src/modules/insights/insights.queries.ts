/**
 * The SQL behind the insights: each reads the recorded transitions (segment_changes) or the
 * trials table of one app, aggregated in PostgreSQL; the pure shaping is in core/insights.ts.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  BUCKET_ORIGIN,
  bucketInterval,
  percentileFromBins,
  rateOf,
  splitByWholeDays,
  type Bucket,
  type BucketDelta,
  type OpenTrialFacts,
  type Rate,
} from '../../core/insights.ts';
import { FINAL_SEGMENTS, isSegmentKey, type SegmentKey } from '../../core/segments.ts';
import type { TrialKind } from '../../core/account-rules.ts';

const sql = (em: EntityManager) => em.getConnection();

/** Only the moves of one kind of trial (null: both); its two parameters are the kind twice. */
const MOVES_OF_KIND = (column: string) => `(cast(? as text) is null or ${column} = ?)`;
const TRIALS_OF_KIND = `(cast(? as text) is null or (account_id is null) = (? = 'user'))`;
const kindParams = (kind: TrialKind | null) => [kind, kind];
const origin = new Date(BUCKET_ORIGIN).toISOString();
/** A list of our own segment keys, written into the statement (constants, never input). */
const sqlList = (keys: readonly SegmentKey[]) => `(${keys.map((key) => `'${key}'`).join(', ')})`;
const FINAL = sqlList([...FINAL_SEGMENTS]);
/** Segments only a trial that reached its aha moment is put in. */
const AHA_SEGMENTS = sqlList(['found_value', 'on_track_to_convert', 'needs_nudge']);

/**
 * Every move of the app before `to`, as +1 into its new segment and −1 out of its old one:
 * summed before `from` (the sizes at the start), and per bucket from there. Read from the hourly
 * rollup (segment_move_hours), so its cost follows the hours of history, not the moves.
 */
export async function segmentMoveDeltas(
  em: EntityManager,
  appId: string,
  from: Date,
  to: Date,
  bucket: Bucket,
  kind: TrialKind | null,
): Promise<{ before: Array<{ segment: string; delta: number }>; deltas: BucketDelta[] }> {
  const rows = await sql(em).execute<Array<{ bucket: Date | null; segment: string; delta: number }>>(
    // Summed per bucket and pair of segments first, then split into the +1 and −1: the split
    // (two rows for each) runs on the few pairs, not on every hour's.
    `with pairs as (
       select case when hour < ? then null else date_bin(?::interval, hour, ?::timestamptz) end as bucket, new_segment, old_segment, sum(moves) as moves
         from segment_move_hours
        where app_id = ? and hour < ? and ${MOVES_OF_KIND('kind')}
        group by 1, 2, 3)
     select p.bucket, m.segment, sum(m.delta * p.moves)::int as delta
       from pairs p cross join lateral (values (p.new_segment, 1), (nullif(p.old_segment, ''), -1)) as m(segment, delta)
      where m.segment is not null
      group by 1, 2`,
    [from, bucketInterval(bucket), origin, appId, to, ...kindParams(kind)],
  );
  return {
    before: rows.filter((row) => row.bucket === null).map(({ segment, delta }) => ({ segment, delta })),
    deltas: rows.filter((row) => row.bucket !== null).map((row) => ({ bucketStart: new Date(row.bucket!).getTime(), segment: row.segment, delta: row.delta })),
  };
}

export interface SegmentMove {
  from: SegmentKey | null;
  to: SegmentKey;
  trials: number;
}

/**
 * From → to counts of the moves recorded in [from, to), in whole hours (UTC) from the rollup
 * (a trial's first segment comes from null).
 */
export async function segmentMoves(em: EntityManager, appId: string, from: Date, to: Date, kind: TrialKind | null): Promise<SegmentMove[]> {
  const rows = await sql(em).execute<Array<{ old_segment: string | null; new_segment: string; trials: number }>>(
    `select nullif(old_segment, '') as old_segment, new_segment, sum(moves)::int as trials from segment_move_hours
      where app_id = ? and hour >= date_trunc('hour', ?::timestamptz, 'UTC') and hour < ? and ${MOVES_OF_KIND('kind')}
      group by 1, 2 having sum(moves) > 0 order by 3 desc, 1, 2`,
    [appId, from, to, ...kindParams(kind)],
  );
  return rows
    .filter((row) => isSegmentKey(row.new_segment) && (row.old_segment === null || isSegmentKey(row.old_segment)))
    .map((row) => ({ from: row.old_segment as SegmentKey | null, to: row.new_segment as SegmentKey, trials: row.trials }));
}

export interface TimeInSegment {
  segment: SegmentKey;
  /** Moves out of the segment in the range. */
  left: number;
  medianSeconds: number;
  p90Seconds: number;
  /** From the dwell bins (within 9 %) rather than from every move. */
  approximate: boolean;
}

/** Up to this many moves out of segments in a range, percentiles are exact (from the moves); beyond, from the bins. */
export const EXACT_DWELL_LIMIT = 20_000;

/**
 * How long trials stayed in each segment before the moves out of it recorded in [from, to): the
 * rollup's dwell bins say how many left; few enough, and the moves' own dwells give exact
 * percentiles; more, and the bins do (4 a doubling), which costs the hours of history, not the moves.
 */
export async function timeInSegment(em: EntityManager, appId: string, from: Date, to: Date, kind: TrialKind | null): Promise<TimeInSegment[]> {
  const bins = await sql(em).execute<Array<{ segment: string; bin: number; departures: number }>>(
    `select segment, bin, sum(departures)::int as departures from segment_dwell_hours
      where app_id = ? and hour >= date_trunc('hour', ?::timestamptz, 'UTC') and hour < ? and ${MOVES_OF_KIND('kind')}
      group by 1, 2 having sum(departures) > 0`,
    [appId, from, to, ...kindParams(kind)],
  );
  const total = bins.reduce((sum, row) => sum + row.departures, 0);
  if (total <= EXACT_DWELL_LIMIT) {
    const rows = await sql(em).execute<Array<{ segment: string; left: number; median: number; p90: number }>>(
      `select old_segment as segment, count(*)::int as left,
              percentile_cont(0.5) within group (order by dwell_seconds)::float8 as median,
              percentile_cont(0.9) within group (order by dwell_seconds)::float8 as p90
         from segment_changes
        where app_id = ? and occurred_at >= ? and occurred_at < ? and dwell_seconds is not null and ${MOVES_OF_KIND('trial_kind')}
        group by 1 order by 1`,
      [appId, from, to, ...kindParams(kind)],
    );
    return rows
      .filter((row) => isSegmentKey(row.segment))
      .map((row) => ({ segment: row.segment as SegmentKey, left: row.left, medianSeconds: row.median, p90Seconds: row.p90, approximate: false }));
  }
  const bySegment = Map.groupBy(
    bins.map((row) => ({ segment: row.segment, bin: row.bin, count: row.departures })),
    (entry) => entry.segment,
  );
  return [...bySegment.entries()]
    .filter(([segment]) => isSegmentKey(segment))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([segment, counts]) => ({
      segment: segment as SegmentKey,
      left: counts.reduce((sum, entry) => sum + entry.count, 0),
      medianSeconds: percentileFromBins(counts, 0.5)!,
      p90Seconds: percentileFromBins(counts, 0.9)!,
      approximate: true,
    }));
}

export interface PathRate extends Rate {
  path: SegmentKey[];
}
export interface ReasonRate extends Rate {
  reason: string;
}
export interface CohortRate extends Rate {
  weekStart: Date;
}

/** At most this many paths are listed, most common first; the rest are summed as one row. */
export const MAX_PATHS = 20;

/**
 * Conversion of the trials that started in [from, to): by the path of segments each took before
 * its outcome, by the reason of its last move before it (its current one while open), and by the
 * week it started. For the range's whole UTC days the finished trials are read from finished_trial_counts (a row per
 * day and path, kept by a trigger on trials) and the open ones from the trials (through the open trials' index); the
 * part-days at its ends from the trials themselves.
 */
export async function conversionBreakdown(
  em: EntityManager,
  appId: string,
  from: Date,
  to: Date,
  kind: TrialKind | null,
): Promise<{ byPath: PathRate[]; otherPaths: Rate | null; byReason: ReasonRate[]; byCohort: CohortRate[] }> {
  type Counts = { trials: number; converted: number; expired: number };
  const { days, edges } = splitByWholeDays(from.getTime(), to.getTime());
  const iso = (at: number) => new Date(at).toISOString();
  const outcome = `case when segment in ${FINAL} then segment else 'open' end`;
  const fromTrials = (where: string) =>
    `select path, coalesce(last_open_reason, '') as reason, ${outcome} as outcome, trial_start as started, 1 as trials
       from trials where app_id = ? and ${where} and ${TRIALS_OF_KIND}`;
  const parts: Array<{ sql: string; params: unknown[] }> = [];
  if (days) {
    const whole = [iso(days[0]), iso(days[1])];
    parts.push({
      sql: `select path, reason, outcome, start_day::timestamp at time zone 'UTC' as started, trials from finished_trial_counts
             where app_id = ? and start_day >= ?::date and start_day < ?::date and ${MOVES_OF_KIND('kind')}`,
      params: [appId, ...whole, ...kindParams(kind)],
    });
    parts.push({
      sql: fromTrials(`(segment is null or segment not in ${FINAL}) and trial_start >= ? and trial_start < ?`),
      params: [appId, ...whole, ...kindParams(kind)],
    });
  }
  if (edges.length) {
    parts.push({
      sql: fromTrials(`(${edges.map(() => '(trial_start >= ? and trial_start < ?)').join(' or ')})`),
      params: [appId, ...edges.flatMap(([start, end]) => [iso(start), iso(end)]), ...kindParams(kind)],
    });
  }
  const rows = await sql(em).execute<Array<Counts & { path: string | null; reason: string | null; week: Date | null; grouped: 'path' | 'reason' | 'week' }>>(
    `with starts as (${parts.map((part) => part.sql).join(' union all ')})
     select path, reason, week, case when grouping(path) = 0 then 'path' when grouping(reason) = 0 then 'reason' else 'week' end as grouped,
            sum(trials)::int as trials, coalesce(sum(trials) filter (where outcome = 'converted'), 0)::int as converted,
            coalesce(sum(trials) filter (where outcome = 'expired'), 0)::int as expired
       from (select *, date_bin('7 days'::interval, started, '${origin}'::timestamptz) as week from starts) s
      group by grouping sets ((path), (reason), (week)) having sum(trials) > 0 order by trials desc, path, reason, week`,
    parts.flatMap((part) => part.params),
  );
  const paths = rows.filter((row) => row.grouped === 'path');
  const shown = paths.slice(0, MAX_PATHS);
  const rest = paths.slice(MAX_PATHS);
  const sum = (counts: Counts[]) =>
    counts.reduce((total, row) => ({ trials: total.trials + row.trials, converted: total.converted + row.converted, expired: total.expired + row.expired }), {
      trials: 0,
      converted: 0,
      expired: 0,
    });
  return {
    byPath: shown.map((row) => ({ path: (row.path ?? '').split('>').filter(isSegmentKey), ...rateOf(row) })),
    otherPaths: rest.length ? rateOf(sum(rest)) : null,
    byReason: rows.filter((row) => row.grouped === 'reason').map((row) => ({ reason: row.reason || 'none', ...rateOf(row) })),
    byCohort: rows
      .filter((row) => row.grouped === 'week')
      .map((row) => ({ weekStart: new Date(row.week!), ...rateOf(row) }))
      .sort((a, b) => a.weekStart.getTime() - b.weekStart.getTime()),
  };
}

/** The facts each open trial's workflow decides on, as the trials table has them. */
export async function openTrialFacts(em: EntityManager, appId: string): Promise<OpenTrialFacts[]> {
  // Times as epoch milliseconds: the text of three timestamps for each of thousands of open trials took tens of ms to
  // parse (35 ms for 46,000).
  const epochMs = (column: string) => `floor(extract(epoch from ${column}) * 1000)::float8`;
  const rows = await sql(em).execute<
    Array<{
      name: string;
      segment: string | null;
      aha: boolean;
      aha_members: number | null;
      last_activity_ms: number | null;
      created_ms: number;
      trial_end_ms: number;
    }>
  >(
    `select coalesce(t.user_id, t.account_id) as name, t.segment, (t.aha_reached_at is not null or t.segment in ${AHA_SEGMENTS}) as aha,
            case when t.account_id is null then null
                 else (select count(*) from account_members m where m.app_id = t.app_id and m.account_id = t.account_id and m.aha_at is not null)::int end
              as aha_members,
            ${epochMs('t.last_activity_at')} as last_activity_ms, ${epochMs('t.created_at')} as created_ms, ${epochMs('t.trial_end')} as trial_end_ms
       from trials t where t.app_id = ? and (t.segment is null or t.segment not in ${FINAL})`,
    [appId],
  );
  return rows.map((row) => ({
    name: row.name,
    ahaMembers: row.aha_members,
    segment: row.segment !== null && isSegmentKey(row.segment) ? row.segment : null,
    ahaReached: row.aha,
    // The workflow counts its own start as activity, and takes the stored activity when it is later.
    lastActivityAt: Math.max(Number(row.created_ms), row.last_activity_ms === null ? 0 : Number(row.last_activity_ms)),
    trialEnd: Number(row.trial_end_ms),
  }));
}
