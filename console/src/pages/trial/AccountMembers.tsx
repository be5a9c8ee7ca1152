/** An account trial's team: who is in it, when each was last active, and who reached aha; paged, the most recently active first. */
import { useEffect, useState } from 'react';
import { useQuery } from 'urql';
import { graphql } from '../../gql/index.ts';
import { Empty, ErrorState, Loading } from '../../states.tsx';

const MembersQuery = graphql(`
  query AccountMembers($appId: ID!, $accountId: String!, $after: String) {
    trial(appId: $appId, accountId: $accountId) {
      id
      account {
        memberCount
        members(first: 25, after: $after) {
          edges {
            node {
              userId
              email
              lastActiveAt
              aha
              ahaAt
            }
          }
          pageInfo {
            hasNextPage
            endCursor
          }
        }
      }
    }
  }
`);

/** `moves`: the trial's moves so far; each new one (a member's aha, say) reloads the team. */
export function AccountMembers({ appId, accountId, moves }: { appId: string; accountId: string; moves: number }) {
  // The cursors of the pages shown before this one, so "Previous" goes back.
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const after = cursors.at(-1) ?? null;
  const [{ data, fetching, error }, refetch] = useQuery({ query: MembersQuery, variables: { appId, accountId, after } });
  useEffect(() => {
    if (moves > 0) refetch({ requestPolicy: 'network-only' });
  }, [moves, refetch]);
  const account = data?.trial?.account;
  return (
    <section aria-labelledby="members-title">
      <h2 id="members-title">Members{account ? ` (${account.memberCount})` : ''}</h2>
      {fetching && !data ? (
        <Loading what="the members" />
      ) : error ? (
        <ErrorState error={error} />
      ) : !account || account.members.edges.length === 0 ? (
        <Empty>No members yet: a group call, or an event with context.groupId, adds its user.</Empty>
      ) : (
        <>
          <table className="members">
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Email</th>
                <th scope="col">Last active</th>
                <th scope="col">Aha</th>
              </tr>
            </thead>
            <tbody>
              {account.members.edges.map(({ node }) => (
                <tr key={node.userId} data-member={node.userId}>
                  <td>{node.userId}</td>
                  <td>{node.email ?? '—'}</td>
                  <td>{new Date(node.lastActiveAt).toLocaleString()}</td>
                  <td>{node.aha ? `yes, ${new Date(node.ahaAt!).toLocaleString()}` : 'not yet'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="actions">
            <button type="button" className="secondary" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous members
            </button>
            <button
              type="button"
              className="secondary"
              disabled={!account.members.pageInfo.hasNextPage}
              onClick={() => setCursors([...cursors, account.members.pageInfo.endCursor])}
            >
              More members
            </button>
          </div>
        </>
      )}
    </section>
  );
}
