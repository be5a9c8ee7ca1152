/** One trial: its dates and segment, each move with its reason, its webhooks, and the commands (extend, convert, cancel). */
import { Problem } from '../../field.tsx';
import { useState } from 'react';
import { useParams } from 'react-router';
import { useMutation, useQuery, useSubscription, type OperationResult } from 'urql';
import { humanSeconds } from '../../durations.ts';
import { graphql } from '../../gql/index.ts';
import type { TrialPageQuery } from '../../gql/graphql.ts';
import { useReloadOn, useSinceOpened } from '../../live.ts';
import { Empty, ErrorState, Loading } from '../../states.tsx';
import { trialName } from '../../trial-subject.ts';
import { AccountMembers } from './AccountMembers.tsx';

const TrialQuery = graphql(`
  query TrialPage($appId: ID!, $userId: String, $accountId: String) {
    trial(appId: $appId, userId: $userId, accountId: $accountId) {
      id
      userId
      accountId
      account {
        name
        memberCount
      }
      email
      segment
      trialStart
      trialEnd
      workflowId
      workflowUrl
      changes {
        id
        sequence
        oldSegment
        newSegment
        reason
        occurredAt
        lastEventBefore {
          type
          event
          timestamp
        }
        deliveries {
          id
          status
          attemptCount
          endpoint {
            url
            description
          }
        }
      }
      events(first: 50) {
        edges {
          node {
            id
            type
            event
            timestamp
          }
        }
        pageInfo {
          hasNextPage
        }
      }
      deliveryCounts {
        pending
        delivered
        failed
      }
    }
  }
`);

const Extend = graphql(`
  mutation ExtendTrialPage($input: ExtendTrialInput!) {
    extendTrial(input: $input) {
      trial {
        id
        trialEnd
        segment
      }
      errors {
        field
        message
      }
    }
  }
`);
const Convert = graphql(`
  mutation ConvertTrialPage($input: ConvertTrialInput!) {
    convertTrial(input: $input) {
      trial {
        id
        segment
      }
      errors {
        message
      }
    }
  }
`);
const Cancel = graphql(`
  mutation CancelTrialPage($input: CancelTrialInput!) {
    cancelTrial(input: $input) {
      trial {
        id
        segment
      }
      errors {
        message
      }
    }
  }
`);

const TrialMoves = graphql(`
  subscription TrialMoves($appId: ID!, $trialId: ID!, $since: String) {
    segmentChanged(appId: $appId, trialId: $trialId, since: $since) {
      id
      occurredAt
    }
  }
`);

const words = (key: string | null | undefined) => (key ? key.replaceAll('_', ' ') : 'no segment yet');

type TrialData = NonNullable<TrialPageQuery['trial']>;

const ORDINALS = ['1st', '2nd', '3rd'];
const ordinal = (n: number) => ORDINALS[n - 1] ?? `${n}th`;
const nameOf = (event: { type: string; event?: string | null }) => event.event ?? event.type;

/** "delivered on the 2nd attempt", "failed after 10 attempts", "pending (1 attempt so far)". */
function deliverySaid(delivery: TrialData['changes'][number]['deliveries'][number]): string {
  const to = delivery.endpoint.description ?? delivery.endpoint.url;
  if (delivery.status === 'delivered') return `webhook to ${to} delivered on the ${ordinal(delivery.attemptCount)} attempt`;
  if (delivery.status === 'failed') return `webhook to ${to} failed after ${delivery.attemptCount} attempts`;
  return `webhook to ${to} pending (${delivery.attemptCount} attempt${delivery.attemptCount === 1 ? '' : 's'} so far)`;
}

/** Why a move happened, in words: "3 days after the last Report Viewed". */
function becauseOf(change: TrialData['changes'][number]): string | null {
  const last = change.lastEventBefore;
  if (!last) return null;
  const gap = Date.parse(change.occurredAt) - Date.parse(last.timestamp);
  return gap < 60_000 ? `on ${nameOf(last)}` : `${humanSeconds(gap / 1000)} after the last ${nameOf(last)}`;
}

function Timeline({
  changes,
  events,
}: {
  changes: TrialData['changes'];
  events: Array<{ id: string; type: string; event?: string | null; timestamp: string }>;
}) {
  const entries = [
    ...changes.map((change) => ({ at: Date.parse(change.occurredAt), order: 1, change, event: null })),
    ...events.map((event) => ({ at: Date.parse(event.timestamp), order: 0, change: null, event })),
  ].sort((a, b) => b.at - a.at || b.order - a.order);
  return (
    <ol className="moves timeline">
      {entries.map(({ change, event }) =>
        change ? (
          <li key={change.id} className="move">
            {new Date(change.occurredAt).toLocaleString()}: {change.oldSegment ? `${words(change.oldSegment)} → ` : ''}
            <strong>{words(change.newSegment)}</strong> ({change.reason.replaceAll('_', ' ')}){becauseOf(change) ? `, ${becauseOf(change)}` : ''}
            {change.deliveries.length > 0 && (
              <ul>
                {change.deliveries.map((delivery) => (
                  <li key={delivery.id}>{deliverySaid(delivery)}</li>
                ))}
              </ul>
            )}
          </li>
        ) : (
          <li key={`event-${event!.id}`} className="event">
            <small>
              {new Date(event!.timestamp).toLocaleString()}: {event!.type === 'track' ? event!.event : event!.type}
            </small>
          </li>
        ),
      )}
    </ol>
  );
}

export function TrialPage() {
  const { appId = '', userId, accountId } = useParams();
  // A person's page (trials/:userId) or an account's (accounts/:accountId): the same trial, named either way.
  const subject = accountId !== undefined ? { accountId } : { userId: userId ?? '' };
  const [{ data, fetching, error }, refetch] = useQuery({ query: TrialQuery, variables: { appId, ...subject } });
  const [, extend] = useMutation(Extend);
  const [, convert] = useMutation(Convert);
  const [, cancel] = useMutation(Cancel);
  const [newEnd, setNewEnd] = useState('');
  // Each move of this trial, as it is recorded, reloads the page (asked from a minute before the page opened, so none falls between query and subscription).
  const trialId = data?.trial?.id;
  const since = useSinceOpened(60_000);
  const [live] = useSubscription({ query: TrialMoves, variables: { appId, trialId: trialId ?? '', since }, pause: !trialId });
  useReloadOn(live.data, () => refetch({ requestPolicy: 'network-only' }));
  const [problem, setProblem] = useState<string | null>(null);

  /** Runs a command and shows its refusal: the API's error, or the payload's errors. */
  async function run<Data>(sent: Promise<OperationResult<Data>>, payloadOf: (data: Data) => { errors: Array<{ message: string }> }) {
    setProblem(null);
    const result = await sent;
    const errors = result.error ? [result.error] : result.data ? payloadOf(result.data).errors : [];
    if (errors.length) setProblem(errors.map((e) => e.message).join('; '));
    refetch({ requestPolicy: 'network-only' });
  }

  if (fetching && !data) return <Loading what="the trial" />;
  if (error) return <ErrorState error={error} />;
  const trial = data?.trial;
  if (!trial) return <Empty>No trial for {trialName(subject)} in this app.</Empty>;
  const final = trial.segment === 'converted' || trial.segment === 'expired';
  return (
    <main>
      <h1>{trial.account ? `${trial.account.name ?? trial.accountId} (account)` : trial.userId}</h1>
      <dl className="facts">
        <dt>Segment</dt>
        <dd data-testid="segment">{words(trial.segment)}</dd>
        {trial.account ? (
          <>
            <dt>Members</dt>
            <dd>{trial.account.memberCount}</dd>
          </>
        ) : (
          <>
            <dt>Email</dt>
            <dd>{trial.email ?? '—'}</dd>
          </>
        )}
        <dt>Trial</dt>
        <dd>
          {new Date(trial.trialStart).toLocaleString()} to {new Date(trial.trialEnd).toLocaleString()}
        </dd>
        <dt>Workflow</dt>
        <dd>
          {trial.workflowUrl ? (
            <a href={trial.workflowUrl} aria-label="Its workflow in the Temporal Web UI">
              {trial.workflowId}
            </a>
          ) : (
            <>
              <code>{trial.workflowId}</code> <small>(set TEMPORAL_UI_URL to link it to your Temporal Web UI)</small>
            </>
          )}
        </dd>
        <dt>Webhooks</dt>
        <dd>
          {trial.deliveryCounts.delivered} delivered, {trial.deliveryCounts.pending} pending, {trial.deliveryCounts.failed} failed
        </dd>
      </dl>
      {trial.accountId != null && <AccountMembers appId={appId} accountId={trial.accountId} moves={trial.changes.length} />}
      <section aria-labelledby="moves-title">
        <h2 id="moves-title">Timeline</h2>
        <p className="hint">
          Newest first: each move with why it happened and the webhooks it caused, between the {trial.accountId != null ? "members'" : "user's"} events
          {trial.events.pageInfo.hasNextPage ? ' (the latest 50)' : ''}.
        </p>
        <Timeline changes={trial.changes} events={trial.events.edges.map((edge) => edge.node)} />
      </section>
      {!final && (
        <section aria-labelledby="commands-title" className="commands">
          <h2 id="commands-title">Commands</h2>
          <form
            className="inline"
            onSubmit={(event) => {
              event.preventDefault();
              void run(extend({ input: { appId, ...subject, trialEnd: new Date(newEnd).toISOString() } }), (data) => data.extendTrial);
            }}
          >
            <label htmlFor="trial-end">New trial end</label>
            <input id="trial-end" type="datetime-local" required value={newEnd} onChange={(event) => setNewEnd(event.target.value)} />
            <button type="submit">Extend</button>
          </form>
          <button type="button" onClick={() => run(convert({ input: { appId, ...subject } }), (data) => data.convertTrial)}>
            Mark converted
          </button>{' '}
          <button type="button" onClick={() => run(cancel({ input: { appId, ...subject } }), (data) => data.cancelTrial)}>
            Cancel the trial
          </button>
        </section>
      )}
      <Problem message={problem} />
    </main>
  );
}
