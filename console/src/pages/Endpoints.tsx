/** Endpoints: add one, each endpoint's card (test, secret, edit, delivery log), and the app's operational events live. */
import { useState } from 'react';
import { useParams } from 'react-router';
import { useMutation, useQuery, useSubscription } from 'urql';
import { graphql } from '../gql/index.ts';
import type { OperationalEventsSubscription } from '../gql/graphql.ts';
import { useReloadOn } from '../live.ts';
import { Empty, ErrorState, Loading } from '../states.tsx';
import { EndpointCard } from './endpoints/EndpointCard.tsx';
import { EndpointForm } from './endpoints/EndpointForm.tsx';
import type { EndpointInput, SaveResult } from './endpoints/endpoint-values.ts';

const EndpointsQuery = graphql(`
  query Endpoints($appId: ID!) {
    webhookEndpoints(appId: $appId) {
      id
      url
      description
      eventTypes
      headers {
        name
        value
      }
      timeoutMs
      maxPerSecond
      ordered
      retrySchedule
      disableAfter
      format
      destinationSet
      enabled
      disabledReason
      failingSince
      secret
      previousSecretExpiresAt
      holdout {
        id
        percent
      }
    }
  }
`);

const CreateEndpoint = graphql(`
  mutation CreateEndpoint($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) {
      endpoint {
        id
      }
      errors {
        field
        message
      }
    }
  }
`);

const OperationalEvents = graphql(`
  subscription OperationalEvents($appId: ID!) {
    webhookOperationalEvents(appId: $appId) {
      id
      type
      endpointId
      deliveryId
      message
      occurredAt
    }
  }
`);

type OperationalEvent = OperationalEventsSubscription['webhookOperationalEvents'];

function OperationalFeed({ appId, urls, changed }: { appId: string; urls: ReadonlyMap<string, string>; changed: () => void }) {
  const [live] = useSubscription({ query: OperationalEvents, variables: { appId } }, (events: OperationalEvent[] = [], data) =>
    [data.webhookOperationalEvents, ...events].slice(0, 50),
  );
  const events = live.data ?? [];
  // An endpoint disabled or failing changes its card's health.
  useReloadOn(events[0]?.id, changed);
  return (
    <section aria-labelledby="operational-events">
      <h2 id="operational-events">Operational events</h2>
      {live.error ? (
        <ErrorState error={live.error} />
      ) : !events.length ? (
        <Empty>None since this page opened: an endpoint failing, exhausted or disabled is shown here as it happens.</Empty>
      ) : (
        <ul className="operational" aria-live="polite">
          {events.map((event) => (
            <li key={event.id}>
              <strong>{event.type.toLowerCase().replace('_', '.')}</strong> {urls.get(event.endpointId) ?? event.endpointId}: {event.message}{' '}
              <small>{new Date(event.occurredAt).toLocaleString()}</small>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function Endpoints() {
  const { appId = '' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: EndpointsQuery, variables: { appId } });
  const [, create] = useMutation(CreateEndpoint);
  const [adding, setAdding] = useState(false);
  const reload = () => refetch({ requestPolicy: 'network-only' });
  const endpoints = data?.webhookEndpoints ?? [];

  async function add(input: EndpointInput): Promise<SaveResult> {
    const result = await create({ input: { appId, ...input } });
    if (result.error) return { failure: result.error.message };
    const errors = result.data?.createWebhookEndpoint.errors ?? [];
    if (!errors.length) {
      setAdding(false);
      reload();
    }
    return { errors };
  }

  return (
    <main>
      <h1>Endpoints</h1>
      {adding || (!fetching && !error && !endpoints.length) ? (
        <section aria-label="New endpoint">
          <EndpointForm
            appId={appId}
            idPrefix="new-endpoint"
            submitLabel="Add endpoint"
            save={add}
            onCancel={endpoints.length ? () => setAdding(false) : undefined}
          />
        </section>
      ) : (
        <button type="button" onClick={() => setAdding(true)}>
          New endpoint
        </button>
      )}
      {fetching && !data ? (
        <Loading what="endpoints" />
      ) : error ? (
        <ErrorState error={error} />
      ) : !endpoints.length ? (
        <Empty>No endpoints yet: add the URL of your email tool, CRM, Zapier or backend.</Empty>
      ) : (
        endpoints.map((endpoint) => <EndpointCard key={endpoint.id} appId={appId} endpoint={endpoint} changed={reload} />)
      )}
      <OperationalFeed appId={appId} urls={new Map(endpoints.map((endpoint) => [endpoint.id, endpoint.url]))} changed={reload} />
    </main>
  );
}
