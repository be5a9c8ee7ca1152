/** The live feed: every transition of the app as it is recorded (the last hour first), filterable by the segment moved into. */
import { useState } from 'react';
import { trialName, trialPath } from '../trial-subject.ts';
import { Link, useParams } from 'react-router';
import { useSubscription } from 'urql';
import { graphql } from '../gql/index.ts';
import type { FeedMovesSubscription, SegmentKey } from '../gql/graphql.ts';
import { useSinceOpened } from '../live.ts';
import { SEGMENTS, segmentLabel } from '../segments.ts';
import { Empty, ErrorState } from '../states.tsx';

const FeedMoves = graphql(`
  subscription FeedMoves($appId: ID!, $segments: [SegmentKey!], $since: String) {
    segmentChanged(appId: $appId, segments: $segments, since: $since) {
      id
      occurredAt
      oldSegment
      newSegment
      reason
      trial {
        userId
        accountId
        email
      }
    }
  }
`);

type Move = FeedMovesSubscription['segmentChanged'];

/** The feed keeps this many moves on screen, newest first. */
const SHOWN = 200;
const REPLAYED_MS = 60 * 60 * 1000;

/** The moves of one filter: a new filter is a new subscription, and a new list. */
function Moves({ appId, segments, since }: { appId: string; segments: SegmentKey[] | null; since: string }) {
  const [live] = useSubscription({ query: FeedMoves, variables: { appId, segments, since } }, (moves: Move[] = [], data) =>
    [data.segmentChanged, ...moves].slice(0, SHOWN),
  );
  const moves = live.data ?? [];
  if (live.error) return <ErrorState error={live.error} />;
  if (!moves.length) return <Empty>No moves in the last hour{segments ? ' into the chosen segments' : ''}: they appear here as they happen.</Empty>;
  return (
    <table aria-label="Moves">
      <caption>Newest first</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Trial</th>
          <th scope="col">Move</th>
          <th scope="col">Why</th>
        </tr>
      </thead>
      <tbody>
        {moves.map((move) => (
          <tr key={move.id} data-change={move.id}>
            <td>{new Date(move.occurredAt).toLocaleString()}</td>
            <td>
              <Link to={trialPath(appId, move.trial)}>{trialName(move.trial)}</Link>
              {move.trial.email && <small> {move.trial.email}</small>}
            </td>
            <td>
              {segmentLabel(move.oldSegment)} → {segmentLabel(move.newSegment)}
            </td>
            <td>{move.reason.replaceAll('_', ' ')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Feed() {
  const { appId = '' } = useParams();
  const [chosen, setChosen] = useState<ReadonlySet<SegmentKey>>(new Set());
  // Fixed when the page opens: a change of filter replays the same hour.
  const since = useSinceOpened(REPLAYED_MS);
  const segments = chosen.size ? SEGMENTS.map((segment) => segment.key).filter((key) => chosen.has(key)) : null;

  function toggle(key: SegmentKey) {
    const next = new Set(chosen);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    setChosen(next);
  }

  return (
    <main className="wide">
      <h1>Live feed</h1>
      <fieldset className="filters">
        <legend>Only moves into (none chosen: every segment)</legend>
        {SEGMENTS.map(({ key, label }) => (
          <label key={key} className="check">
            <input type="checkbox" checked={chosen.has(key)} onChange={() => toggle(key)} /> {label}
          </label>
        ))}
      </fieldset>
      <p className="hint">The last hour, then each move as it is recorded; after a lost connection the feed resumes where it was.</p>
      <Moves key={segments?.join(',') ?? 'all'} appId={appId} segments={segments} since={since} />
    </main>
  );
}
