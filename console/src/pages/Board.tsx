/** The trials board: the nine segments with their counts and cards, moving live as transitions are recorded; search by user id or email. */
import { useState, type FormEvent } from 'react';
import { useReloadOn, useSinceOpened } from '../live.ts';
import { ExportTrials } from './ExportTrials.tsx';
import { trialName, trialPath } from '../trial-subject.ts';
import { Link, useParams } from 'react-router';
import { useQuery, useSubscription } from 'urql';
import { graphql } from '../gql/index.ts';
import { SEGMENTS } from '../segments.ts';
import { ErrorState, Loading } from '../states.tsx';

const BoardQuery = graphql(`
  query Board($appId: ID!, $search: String) {
    segments(appId: $appId) {
      key
      trials
    }
    trials(appId: $appId, search: $search, first: 100) {
      edges {
        node {
          id
          userId
          accountId
          account {
            name
            memberCount
            lastActiveMember {
              userId
              lastActiveAt
            }
          }
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
  subscription BoardMoves($appId: ID!, $since: String) {
    segmentChanged(appId: $appId, since: $since) {
      id
      occurredAt
      newSegment
      trial {
        userId
        accountId
      }
    }
  }
`);

/** An account card's team line: how many, and who was active last. */
function AccountFacts({ account }: { account: { memberCount: number; lastActiveMember: { userId: string; lastActiveAt: string } | null } }) {
  const last = account.lastActiveMember;
  return (
    <span className="account-facts">
      <span className="badge">account</span> {account.memberCount} {account.memberCount === 1 ? 'member' : 'members'}
      {last && `, last active: ${last.userId} ${new Date(last.lastActiveAt).toLocaleString()}`}
    </span>
  );
}

export function Board() {
  const { appId = '' } = useParams();
  const [search, setSearch] = useState('');
  const [typed, setTyped] = useState('');
  const [{ data, fetching, error }, refetch] = useQuery({ query: BoardQuery, variables: { appId, search: search || null } });
  // Each recorded move reloads the board (one query: counts and cards). The subscription starts a
  // little after the query answered, so it asks from a minute before the page opened: no move
  // falls between the two (and `since` lets the client resume after a reconnect).
  const since = useSinceOpened(60_000);
  const [live] = useSubscription({ query: Moves, variables: { appId, since } });
  useReloadOn(live.data, () => refetch({ requestPolicy: 'network-only' }));

  function find(event: FormEvent) {
    event.preventDefault();
    setSearch(typed.trim());
  }

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
            ? `Live: ${trialName(live.data.segmentChanged.trial)} moved to ${live.data.segmentChanged.newSegment.replaceAll('_', ' ')}`
            : 'Live'}
      </p>
      <form className="inline" role="search" onSubmit={find}>
        <label htmlFor="trial-search">User id or email starts with</label>
        <input id="trial-search" type="search" value={typed} onChange={(event) => setTyped(event.target.value)} />
        <button type="submit">Search</button>
        {search && (
          <button type="button" className="secondary" onClick={() => (setTyped(''), setSearch(''))}>
            Show all
          </button>
        )}
      </form>
      <ExportTrials appId={appId} search={search} />
      {!trials.length && (
        <p className="state empty">
          {search ? `No trial's user id or email starts with “${search}”.` : 'No trials yet: an identify with trial_end (or a Trial Started event) starts one.'}
        </p>
      )}
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
                    <Link to={trialPath(appId, trial)}>
                      <strong>{trial.account?.name ?? trialName(trial)}</strong>
                    </Link>
                    {trial.account ? <AccountFacts account={trial.account} /> : trial.email && <span>{trial.email}</span>}
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
