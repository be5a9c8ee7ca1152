/** The trials board: the nine segments with their counts and cards, moving live as transitions are recorded. */
import { useEffect } from 'react';
import { Link, useParams } from 'react-router';
import { useQuery, useSubscription } from 'urql';
import { graphql } from '../gql/index.ts';
import type { SegmentKey } from '../gql/graphql.ts';
import { ErrorState, Loading } from '../states.tsx';

const SEGMENTS: Array<{ key: SegmentKey; label: string }> = [
  { key: 'exploring', label: 'Exploring' },
  { key: 'found_value', label: 'Found value' },
  { key: 'on_track_to_convert', label: 'On track to convert' },
  { key: 'gone_quiet', label: 'Gone quiet' },
  { key: 'needs_nudge', label: 'Needs a nudge' },
  { key: 'slipping_away', label: 'Slipping away' },
  { key: 'last_chance', label: 'Last chance' },
  { key: 'converted', label: 'Converted' },
  { key: 'expired', label: 'Expired' },
];

const BoardQuery = graphql(`
  query Board($appId: ID!) {
    segments(appId: $appId) {
      key
      trials
    }
    trials(appId: $appId, first: 100) {
      edges {
        node {
          id
          userId
          email
          segment
          latestChange {
            reason
            occurredAt
          }
        }
      }
    }
  }
`);

const Moves = graphql(`
  subscription BoardMoves($appId: ID!) {
    segmentChanged(appId: $appId) {
      id
      newSegment
      trial {
        userId
      }
    }
  }
`);

export function Board() {
  const { appId = '' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: BoardQuery, variables: { appId } });
  // Each recorded move reloads the board (one query: counts and cards).
  const [live] = useSubscription({ query: Moves, variables: { appId } });
  useEffect(() => {
    if (live.data) refetch({ requestPolicy: 'network-only' });
  }, [live.data, refetch]);

  if (fetching && !data) return <Loading what="the board" />;
  if (error) return <ErrorState error={error} />;
  const counts = new Map(data?.segments.map((segment) => [segment.key, segment.trials]));
  const trials = data?.trials.edges.map((edge) => edge.node) ?? [];
  return (
    <main className="wide">
      <h1>Trials</h1>
      <p className="hint" role="status" aria-live="polite">
        {live.error
          ? `Live updates stopped: ${live.error.message}`
          : live.data
            ? `Live: ${live.data.segmentChanged.trial.userId} moved to ${live.data.segmentChanged.newSegment.replaceAll('_', ' ')}`
            : 'Live'}
      </p>
      {!trials.length && <p className="state empty">No trials yet: an identify with trial_end (or a Trial Started event) starts one.</p>}
      <div className="board">
        {SEGMENTS.map(({ key, label }) => (
          <section key={key} className="column" aria-labelledby={`column-${key}`} data-segment={key}>
            <h2 id={`column-${key}`}>
              {label} <span className="count">{counts.get(key) ?? 0}</span>
            </h2>
            <ul>
              {trials
                .filter((trial) => trial.segment === key)
                .map((trial) => (
                  <li key={trial.id} className="card">
                    <Link to={`/apps/${appId}/trials/${encodeURIComponent(trial.userId)}`}>
                      <strong>{trial.userId}</strong>
                    </Link>
                    {trial.email && <span>{trial.email}</span>}
                    {trial.latestChange && <small>{trial.latestChange.reason.replaceAll('_', ' ')}</small>}
                  </li>
                ))}
            </ul>
          </section>
        ))}
      </div>
    </main>
  );
}
