/**
 * Insights: how segments grow and drain (sizes over time, stacked), the flow between segments
 * with the time spent in each, what converts (by path, reason and start week), and this week's
 * moves into gone quiet beside last week's. Every chart has its numbers as a table.
 */
import { useState } from 'react';
import { useParams } from 'react-router';
import { useQuery } from 'urql';
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Sankey, Tooltip, XAxis, YAxis } from 'recharts';
import { percent, SegmentPatterns, segmentColor, segmentFill } from '../charts.tsx';
import { humanSeconds } from '../durations.ts';
import { graphql } from '../gql/index.ts';
import type { InsightBucket, InsightsQuery as InsightsData, TrialKind } from '../gql/graphql.ts';
import { SEGMENTS, segmentLabel } from '../segments.ts';
import { Empty, ErrorState, Loading } from '../states.tsx';

const InsightsQuery = graphql(`
  query Insights($appId: ID!, $from: DateTime!, $to: DateTime!, $bucket: InsightBucket!, $weekAgo: DateTime!, $twoWeeksAgo: DateTime!, $kind: TrialKind) {
    segmentSizes(appId: $appId, from: $from, to: $to, bucket: $bucket, kind: $kind) {
      start
      counts {
        key
        trials
      }
    }
    segmentFlow(appId: $appId, from: $from, to: $to, kind: $kind) {
      moves {
        from
        to
        trials
      }
      timeInSegment {
        segment
        left
        medianSeconds
        p90Seconds
        approximate
      }
    }
    conversion(appId: $appId, from: $from, to: $to, kind: $kind) {
      byPath {
        path
        trials
        converted
        expired
        open
        conversionRate
      }
      otherPaths {
        trials
        converted
        expired
        open
        conversionRate
      }
      byReason {
        reason
        trials
        converted
        expired
        open
        conversionRate
      }
      byCohort {
        weekStart
        trials
        converted
        expired
        open
        conversionRate
      }
    }
    thisWeek: segmentFlow(appId: $appId, from: $weekAgo, to: $to, kind: $kind) {
      moves {
        to
        trials
      }
    }
    lastWeek: segmentFlow(appId: $appId, from: $twoWeeksAgo, to: $weekAgo, kind: $kind) {
      moves {
        to
        trials
      }
    }
  }
`);

const RANGES = [
  { days: 7, label: 'Last 7 days', bucket: 'hour' as InsightBucket },
  { days: 30, label: 'Last 30 days', bucket: 'day' as InsightBucket },
  { days: 90, label: 'Last 90 days', bucket: 'day' as InsightBucket },
  { days: 365, label: 'Last 365 days', bucket: 'week' as InsightBucket },
];

const DAY_MS = 86_400_000;
const intoQuiet = (moves: ReadonlyArray<{ to: string; trials: number }>) =>
  moves.filter((move) => move.to === 'gone_quiet').reduce((sum, move) => sum + move.trials, 0);
const when = (iso: string, bucket: InsightBucket) =>
  bucket === 'hour' ? new Date(iso).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit' }) : new Date(iso).toLocaleDateString();

function Sizes({ data, bucket }: { data: InsightsData['segmentSizes']; bucket: InsightBucket }) {
  const rows = data.map((entry) => ({ start: when(entry.start, bucket), ...Object.fromEntries(entry.counts.map((count) => [count.key, count.trials])) }));
  return (
    <section aria-labelledby="sizes-title" className="insight">
      <h2 id="sizes-title">Segment sizes over time</h2>
      <p className="hint">Trials in each segment at the end of each {bucket}: a trial counts in its segment from one move to the next.</p>
      <figure aria-label="Segment sizes, stacked" className="chart">
        <ResponsiveContainer width="100%" height={320}>
          <AreaChart data={rows} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
            <SegmentPatterns />
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="start" minTickGap={24} />
            <YAxis allowDecimals={false} />
            <Tooltip />
            <Legend />
            {SEGMENTS.map(({ key, label }) => (
              <Area
                key={key}
                type="stepAfter"
                dataKey={key}
                name={label}
                stackId="sizes"
                stroke={segmentColor(key)}
                fill={segmentFill(key)}
                isAnimationActive={false}
              />
            ))}
          </AreaChart>
        </ResponsiveContainer>
      </figure>
      <details>
        <summary>The numbers</summary>
        <div className="scroll">
          <table aria-label="Segment sizes">
            <thead>
              <tr>
                <th scope="col">{bucket === 'hour' ? 'Hour' : bucket === 'day' ? 'Day' : 'Week'}</th>
                {SEGMENTS.map(({ key, label }) => (
                  <th key={key} scope="col">
                    {label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {data.map((entry) => (
                <tr key={entry.start}>
                  <th scope="row">{when(entry.start, bucket)}</th>
                  {entry.counts.map((count) => (
                    <td key={count.key}>{count.trials}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </section>
  );
}

function Flow({ flow }: { flow: InsightsData['segmentFlow'] }) {
  // Two columns of nodes (where from, where to), so the drawing holds loops such as quiet → value → quiet.
  const fromKeys = [...new Set(flow.moves.map((move) => move.from ?? 'start'))];
  const toKeys = [...new Set(flow.moves.map((move) => move.to))];
  const nodes = [
    ...fromKeys.map((key) => ({ name: `${segmentLabel(key === 'start' ? null : key)} (from)` })),
    ...toKeys.map((key) => ({ name: `${segmentLabel(key)} (to)` })),
  ];
  const links = flow.moves.map((move) => ({
    source: fromKeys.indexOf(move.from ?? 'start'),
    target: fromKeys.length + toKeys.indexOf(move.to),
    value: move.trials,
  }));
  return (
    <section aria-labelledby="flow-title" className="insight">
      <h2 id="flow-title">Flow between segments</h2>
      {!flow.moves.length ? (
        <Empty>No moves in this range.</Empty>
      ) : (
        <>
          <figure aria-label="Moves from segment to segment" className="chart">
            <ResponsiveContainer width="100%" height={Math.max(240, nodes.length * 28)}>
              <Sankey
                data={{ nodes, links }}
                nodePadding={18}
                margin={{ top: 8, right: 140, bottom: 8, left: 8 }}
                link={{ stroke: '#748ffc' }}
                node={{ fill: '#364fc7' }}
              >
                <Tooltip />
              </Sankey>
            </ResponsiveContainer>
          </figure>
          <div className="two-tables">
            <table aria-label="Moves">
              <caption>Moves, most frequent first</caption>
              <thead>
                <tr>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                  <th scope="col">Moves</th>
                </tr>
              </thead>
              <tbody>
                {flow.moves.map((move) => (
                  <tr key={`${move.from}>${move.to}`}>
                    <td>{segmentLabel(move.from)}</td>
                    <td>{segmentLabel(move.to)}</td>
                    <td>{move.trials}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <table aria-label="Time in segment">
              <caption>Time spent before leaving</caption>
              <thead>
                <tr>
                  <th scope="col">Segment</th>
                  <th scope="col">Left</th>
                  <th scope="col">Median</th>
                  <th scope="col">90th percentile</th>
                </tr>
              </thead>
              <tbody>
                {flow.timeInSegment.map((row) => (
                  <tr key={row.segment}>
                    <td>{segmentLabel(row.segment)}</td>
                    <td>{row.left}</td>
                    <td>
                      {row.approximate && <abbr title="from dwell bins, within 9 %">≈ </abbr>}
                      {humanSeconds(row.medianSeconds)}
                    </td>
                    <td>
                      {row.approximate && <abbr title="from dwell bins, within 9 %">≈ </abbr>}
                      {humanSeconds(row.p90Seconds)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

type RateRow = { trials: number; converted: number; expired: number; open: number; conversionRate?: number | null };

function RateCells({ row }: { row: RateRow }) {
  return (
    <>
      <td>{row.trials}</td>
      <td>{row.converted}</td>
      <td>{row.expired}</td>
      <td>{row.open}</td>
      <td>{percent(row.conversionRate)}</td>
    </>
  );
}

function RateHead({ first }: { first: string }) {
  return (
    <thead>
      <tr>
        <th scope="col">{first}</th>
        <th scope="col">Trials</th>
        <th scope="col">Converted</th>
        <th scope="col">Expired</th>
        <th scope="col">Open</th>
        <th scope="col">Conversion</th>
      </tr>
    </thead>
  );
}

function Converts({ conversion }: { conversion: InsightsData['conversion'] }) {
  const cohorts = conversion.byCohort.map((row) => ({
    week: new Date(row.weekStart).toLocaleDateString(),
    rate: row.conversionRate === null ? 0 : Math.round((row.conversionRate ?? 0) * 1000) / 10,
  }));
  return (
    <section aria-labelledby="converts-title" className="insight">
      <h2 id="converts-title">What converts</h2>
      <p className="hint">
        Trials that started in the range; conversion is converted among those finished (converted or expired), with the counts, so a small group reads as one.
      </p>
      {!conversion.byCohort.length ? (
        <Empty>No trial started in this range.</Empty>
      ) : (
        <>
          <table aria-label="Conversion by path">
            <caption>By the path of segments before the outcome</caption>
            <RateHead first="Path" />
            <tbody>
              {conversion.byPath.map((row) => (
                <tr key={row.path.join('>')}>
                  <td>{row.path.map((key) => segmentLabel(key)).join(' → ')}</td>
                  <RateCells row={row} />
                </tr>
              ))}
              {conversion.otherPaths && (
                <tr>
                  <td>
                    <em>Every other path</em>
                  </td>
                  <RateCells row={conversion.otherPaths} />
                </tr>
              )}
            </tbody>
          </table>
          <table aria-label="Conversion by reason">
            <caption>By the reason of the last move before the outcome</caption>
            <RateHead first="Reason" />
            <tbody>
              {conversion.byReason.map((row) => (
                <tr key={row.reason}>
                  <td>{row.reason.replaceAll('_', ' ')}</td>
                  <RateCells row={row} />
                </tr>
              ))}
            </tbody>
          </table>
          <figure aria-label="Conversion by start week" className="chart">
            <ResponsiveContainer width="100%" height={220}>
              <BarChart data={cohorts} margin={{ top: 16, right: 16, bottom: 8, left: 0 }}>
                <SegmentPatterns />
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="week" />
                <YAxis unit=" %" />
                <Tooltip />
                <Bar
                  dataKey="rate"
                  name="Conversion %"
                  fill={segmentFill('converted')}
                  stroke={segmentColor('converted')}
                  label={{ position: 'top' }}
                  isAnimationActive={false}
                />
              </BarChart>
            </ResponsiveContainer>
          </figure>
          <table aria-label="Conversion by start week">
            <caption>By the week the trial started (cohorts)</caption>
            <RateHead first="Week of" />
            <tbody>
              {conversion.byCohort.map((row) => (
                <tr key={row.weekStart}>
                  <td>{new Date(row.weekStart).toLocaleDateString()}</td>
                  <RateCells row={row} />
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

export function Insights() {
  const { appId = '' } = useParams();
  const [days, setDays] = useState(30);
  const range = RANGES.find((candidate) => candidate.days === days)!;
  const [bucket, setBucket] = useState<InsightBucket>(range.bucket);
  const [kind, setKind] = useState<TrialKind | ''>('');
  // Fixed per choice, so the query (and its cache) does not change on every render.
  const [now] = useState(() => Date.now());
  const variables = {
    appId,
    from: new Date(now - days * DAY_MS).toISOString(),
    to: new Date(now).toISOString(),
    bucket,
    weekAgo: new Date(now - 7 * DAY_MS).toISOString(),
    twoWeeksAgo: new Date(now - 14 * DAY_MS).toISOString(),
    kind: kind || null,
  };
  const [{ data, fetching, error }] = useQuery({ query: InsightsQuery, variables });

  return (
    <main className="wide">
      <h1>Insights</h1>
      <div className="filters-row">
        <div>
          <label htmlFor="insight-range">Range</label>
          <select
            id="insight-range"
            value={days}
            onChange={(event) => {
              const next = RANGES.find((candidate) => candidate.days === Number(event.target.value))!;
              setDays(next.days);
              setBucket(next.bucket);
            }}
          >
            {RANGES.map((candidate) => (
              <option key={candidate.days} value={candidate.days}>
                {candidate.label}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="insight-bucket">Bucket</label>
          <select id="insight-bucket" value={bucket} onChange={(event) => setBucket(event.target.value as InsightBucket)}>
            <option value="hour">Hour</option>
            <option value="day">Day</option>
            <option value="week">Week</option>
          </select>
        </div>
        <div>
          <label htmlFor="insight-kind">Trials</label>
          <select id="insight-kind" value={kind} onChange={(event) => setKind(event.target.value as TrialKind | '')}>
            <option value="">People and accounts</option>
            <option value="user">People</option>
            <option value="account">Accounts (teams)</option>
          </select>
        </div>
      </div>
      {fetching && !data ? (
        <Loading what="the insights" />
      ) : error ? (
        <ErrorState error={error} />
      ) : !data ? null : (
        <>
          <section aria-labelledby="quiet-title" className="kpis">
            <h2 id="quiet-title">Going quiet</h2>
            <p data-testid="going-quiet">
              <strong>{intoQuiet(data.thisWeek.moves)}</strong> moves into gone quiet in the last 7 days, beside{' '}
              <strong>{intoQuiet(data.lastWeek.moves)}</strong> in the 7 days before.
            </p>
          </section>
          <Sizes data={data.segmentSizes} bucket={bucket} />
          <Flow flow={data.segmentFlow} />
          <Converts conversion={data.conversion} />
        </>
      )}
    </main>
  );
}
