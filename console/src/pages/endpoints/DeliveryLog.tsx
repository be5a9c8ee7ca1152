/**
 * An endpoint's delivery log, filtered by status and time: each delivery's attempts with status,
 * duration, response headers and body, live as attempts are recorded; redeliver one, or replay
 * every failed delivery since a chosen time (an outage).
 */
import { useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { graphql } from '../../gql/index.ts';
import type { DeliveryStatus } from '../../gql/graphql.ts';
import { useReloadOn } from '../../live.ts';
import { Empty, ErrorState, Loading } from '../../states.tsx';
import { ReceivedResponse } from './ReceivedResponse.tsx';

const DeliveryLogQuery = graphql(`
  query DeliveryLog($endpointId: ID!, $status: DeliveryStatus, $since: DateTime, $until: DateTime, $after: String) {
    deliveries(endpointId: $endpointId, status: $status, since: $since, until: $until, after: $after, first: 20) {
      edges {
        node {
          id
          eventType
          status
          attemptCount
          createdAt
          deliveredAt
          payload
          attempts {
            id
            attemptedAt
            statusCode
            durationMs
            error
            responseBody
            responseHeaders {
              name
              value
            }
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const AttemptRecorded = graphql(`
  subscription AttemptRecorded($endpointId: ID!) {
    deliveryAttemptRecorded(endpointId: $endpointId) {
      id
      deliveryId
    }
  }
`);

const Redeliver = graphql(`
  mutation Redeliver($deliveryId: ID!) {
    redeliver(deliveryId: $deliveryId) {
      delivery {
        id
        status
      }
      errors {
        message
      }
    }
  }
`);

const ReplayOutage = graphql(`
  mutation ReplayOutage($endpointId: ID!, $since: DateTime!) {
    redeliverFailed(endpointId: $endpointId, since: $since) {
      count
      errors {
        field
        message
      }
    }
  }
`);

/** A datetime-local input's value (the browser's time zone) as an ISO-8601 instant, or null when empty. */
const instant = (local: string): string | null => (local ? new Date(local).toISOString() : null);

function ReplayForm({ endpointId, replayed }: { endpointId: string; replayed: () => void }) {
  const [from, setFrom] = useState('');
  const [replay, run] = useMutation(ReplayOutage);
  const [outcome, setOutcome] = useState<string | null>(null);
  const id = `replay-${endpointId}`;
  return (
    <form
      className="inline"
      onSubmit={async (event) => {
        event.preventDefault();
        const since = instant(from);
        if (!since) return setOutcome('Choose when the outage began.');
        const result = await run({ endpointId, since });
        const payload = result.data?.redeliverFailed;
        setOutcome(
          result.error
            ? result.error.message
            : payload?.errors.length
              ? payload.errors.map((e) => e.message).join('; ')
              : `${payload?.count ?? 0} failed ${payload?.count === 1 ? 'delivery' : 'deliveries'} sent again`,
        );
        replayed();
      }}
    >
      <label htmlFor={id}>Replay failed deliveries since</label>
      <input id={id} type="datetime-local" value={from} onChange={(event) => setFrom(event.target.value)} />
      <button type="submit" disabled={replay.fetching}>
        Replay
      </button>
      {outcome && (
        <span role="status" aria-live="polite">
          {' '}
          {outcome}
        </span>
      )}
    </form>
  );
}

export function DeliveryLog({ endpointId }: { endpointId: string }) {
  const [status, setStatus] = useState<DeliveryStatus | ''>('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [after, setAfter] = useState<string | null>(null);
  const variables = { endpointId, status: status || null, since: instant(since), until: instant(until), after };
  const [{ data, fetching, error }, refetch] = useQuery({ query: DeliveryLogQuery, variables });
  const [, redeliver] = useMutation(Redeliver);
  const reload = () => refetch({ requestPolicy: 'network-only' });
  // Each attempt recorded (first attempts, retries, tests) reloads the page of the log shown.
  const [live] = useSubscription({ query: AttemptRecorded, variables: { endpointId } });
  useReloadOn(live.data, reload);
  const deliveries = data?.deliveries.edges.map((edge) => edge.node) ?? [];
  const filter = (name: string) => `${name}-${endpointId}`;

  return (
    <section aria-label="Delivery log">
      <h3>Delivery log</h3>
      <div className="filters-row">
        <div>
          <label htmlFor={filter('status')}>Status</label>
          <select id={filter('status')} value={status} onChange={(event) => (setStatus(event.target.value as DeliveryStatus | ''), setAfter(null))}>
            <option value="">All</option>
            <option value="pending">Pending</option>
            <option value="delivered">Delivered</option>
            <option value="failed">Failed</option>
            <option value="held_out">Held out (a holdout kept it back)</option>
          </select>
        </div>
        <div>
          <label htmlFor={filter('since')}>Created from</label>
          <input id={filter('since')} type="datetime-local" value={since} onChange={(event) => (setSince(event.target.value), setAfter(null))} />
        </div>
        <div>
          <label htmlFor={filter('until')}>Created before</label>
          <input id={filter('until')} type="datetime-local" value={until} onChange={(event) => (setUntil(event.target.value), setAfter(null))} />
        </div>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      <ReplayForm endpointId={endpointId} replayed={reload} />
      {fetching && !data ? (
        <Loading what="deliveries" />
      ) : error ? (
        <ErrorState error={error} />
      ) : !deliveries.length ? (
        <Empty>{status || since || until ? 'No deliveries match these filters.' : 'No deliveries yet.'}</Empty>
      ) : (
        <table>
          <caption>Newest first</caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Redeliver</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((delivery) => (
              <tr key={delivery.id} data-delivery={delivery.id}>
                <td>
                  {delivery.eventType}
                  <br />
                  <small>{new Date(delivery.createdAt).toLocaleString()}</small>
                  <details>
                    <summary>
                      {delivery.status === 'held_out' ? 'Body held back' : 'Body sent'} (webhook-id {delivery.id})
                    </summary>
                    <pre tabIndex={0}>{delivery.payload}</pre>
                  </details>
                </td>
                <td>{delivery.status === 'held_out' ? 'held out: never sent' : delivery.status}</td>
                <td>
                  <ol>
                    {delivery.attempts.map((attempt) => (
                      <li key={attempt.id}>
                        {attempt.statusCode ?? 'no answer'} in {attempt.durationMs} ms{attempt.error ? `: ${attempt.error}` : ''}{' '}
                        <small>{new Date(attempt.attemptedAt).toLocaleTimeString()}</small>
                        {(attempt.responseBody || attempt.responseHeaders.length > 0) && (
                          <details>
                            <summary>Response</summary>
                            <ReceivedResponse headers={attempt.responseHeaders} body={attempt.responseBody} />
                          </details>
                        )}
                      </li>
                    ))}
                  </ol>
                </td>
                <td>
                  {delivery.status !== 'held_out' && (
                    <button
                      type="button"
                      aria-label={`Redeliver ${delivery.eventType} ${delivery.id}`}
                      onClick={async () => {
                        await redeliver({ deliveryId: delivery.id });
                        reload();
                      }}
                    >
                      Redeliver
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="actions">
        {after && (
          <button type="button" className="secondary" onClick={() => setAfter(null)}>
            Newest
          </button>
        )}
        {data?.deliveries.pageInfo.hasNextPage && (
          <button type="button" className="secondary" onClick={() => setAfter(data.deliveries.pageInfo.endCursor ?? null)}>
            Older
          </button>
        )}
      </div>
    </section>
  );
}
