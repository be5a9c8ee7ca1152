/**
 * Endpoints: create one, send it a test (the response shown as received), reveal its signing
 * secret, pause or resume it, and read its delivery log (each attempt's status, time and
 * answer), redelivering one.
 */
import { useState, type FormEvent } from 'react';
import { useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql/index.ts';
import type { SendTestMutation } from '../gql/graphql.ts';
import { Empty, ErrorState, Loading } from '../states.tsx';

const EndpointsQuery = graphql(`
  query Endpoints($appId: ID!) {
    webhookEndpoints(appId: $appId) {
      id
      url
      description
      eventTypes
      enabled
      disabledReason
      secret
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

const SetEnabled = graphql(`
  mutation SetEndpointEnabled($input: UpdateWebhookEndpointInput!) {
    updateWebhookEndpoint(input: $input) {
      endpoint {
        id
        enabled
      }
      errors {
        message
      }
    }
  }
`);

const SendTest = graphql(`
  mutation SendTest($endpointId: ID!) {
    sendTestWebhook(endpointId: $endpointId) {
      attempt {
        statusCode
        durationMs
        responseBody
        error
      }
      errors {
        message
      }
    }
  }
`);

const DeliveryLog = graphql(`
  query DeliveryLog($endpointId: ID!, $status: DeliveryStatus) {
    deliveries(endpointId: $endpointId, status: $status, first: 20) {
      edges {
        node {
          id
          eventType
          status
          attemptCount
          createdAt
          attempts {
            id
            attemptedAt
            statusCode
            durationMs
            error
          }
        }
      }
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

type Endpoint = {
  id: string;
  url: string;
  description?: string | null;
  eventTypes: string[];
  enabled: boolean;
  disabledReason?: string | null;
  secret: string;
};

function Deliveries({ endpointId }: { endpointId: string }) {
  const [status, setStatus] = useState<'' | 'pending' | 'delivered' | 'failed'>('');
  const [{ data, fetching, error }, refetch] = useQuery({ query: DeliveryLog, variables: { endpointId, status: status || null } });
  const [, redeliver] = useMutation(Redeliver);
  const deliveries = data?.deliveries.edges.map((edge) => edge.node) ?? [];
  return (
    <section aria-label="Delivery log">
      <h3>Delivery log</h3>
      <label htmlFor={`status-${endpointId}`}>Status</label>
      <select id={`status-${endpointId}`} value={status} onChange={(event) => setStatus(event.target.value as typeof status)}>
        <option value="">All</option>
        <option value="pending">Pending</option>
        <option value="delivered">Delivered</option>
        <option value="failed">Failed</option>
      </select>{' '}
      <button type="button" onClick={() => refetch({ requestPolicy: 'network-only' })}>
        Refresh
      </button>
      {fetching && !data ? (
        <Loading what="deliveries" />
      ) : error ? (
        <ErrorState error={error} />
      ) : !deliveries.length ? (
        <Empty>No deliveries yet.</Empty>
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
                </td>
                <td>{delivery.status}</td>
                <td>
                  <ol>
                    {delivery.attempts.map((attempt) => (
                      <li key={attempt.id}>
                        {attempt.statusCode ?? 'no answer'} in {attempt.durationMs} ms{attempt.error ? `: ${attempt.error}` : ''}
                      </li>
                    ))}
                  </ol>
                </td>
                <td>
                  <button
                    type="button"
                    aria-label={`Redeliver ${delivery.eventType} ${delivery.id}`}
                    onClick={async () => {
                      await redeliver({ deliveryId: delivery.id });
                      refetch({ requestPolicy: 'network-only' });
                    }}
                  >
                    Redeliver
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function EndpointCard({ endpoint, changed }: { endpoint: Endpoint; changed: () => void }) {
  const [revealed, setRevealed] = useState(false);
  const [test, sendTest] = useMutation(SendTest);
  const [, setEnabled] = useMutation(SetEnabled);
  const [result, setResult] = useState<NonNullable<SendTestMutation['sendTestWebhook']> | null>(null);
  return (
    <article className="endpoint" aria-label={`Endpoint ${endpoint.url}`}>
      <h2>{endpoint.url}</h2>
      <p>
        {endpoint.enabled ? 'Enabled' : `Disabled${endpoint.disabledReason ? `: ${endpoint.disabledReason}` : ''}`} · {endpoint.eventTypes.join(', ')}
      </p>
      <div className="actions">
        <button
          type="button"
          disabled={test.fetching}
          onClick={async () => setResult((await sendTest({ endpointId: endpoint.id })).data?.sendTestWebhook ?? null)}
        >
          {test.fetching ? 'Sending…' : 'Send a test webhook'}
        </button>
        <button type="button" aria-expanded={revealed} onClick={() => setRevealed(!revealed)}>
          {revealed ? 'Hide the signing secret' : 'Reveal the signing secret'}
        </button>
        <button
          type="button"
          onClick={async () => {
            await setEnabled({ input: { endpointId: endpoint.id, enabled: !endpoint.enabled } });
            changed();
          }}
        >
          {endpoint.enabled ? 'Disable' : 'Enable'}
        </button>
      </div>
      {revealed && (
        <p>
          <label htmlFor={`secret-${endpoint.id}`}>Signing secret</label>
          <input id={`secret-${endpoint.id}`} readOnly value={endpoint.secret} />
        </p>
      )}
      {test.error && <ErrorState error={test.error} />}
      {result && (
        <div className="test-result" role="status" aria-label="Test result">
          {result.errors.length ? (
            <p className="error">{result.errors.map((error) => error.message).join('; ')}</p>
          ) : (
            <p>
              Answered {result.attempt?.statusCode ?? 'nothing'} in {result.attempt?.durationMs} ms{result.attempt?.error ? `: ${result.attempt.error}` : ''}
              {result.attempt?.responseBody && (
                <>
                  <br />
                  <code>{result.attempt.responseBody}</code>
                </>
              )}
            </p>
          )}
        </div>
      )}
      <Deliveries endpointId={endpoint.id} />
    </article>
  );
}

export function Endpoints() {
  const { appId = '' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: EndpointsQuery, variables: { appId } });
  const [creation, create] = useMutation(CreateEndpoint);
  const [url, setUrl] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const reload = () => refetch({ requestPolicy: 'network-only' });

  async function submit(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    const result = await create({ input: { appId, url } });
    const errors = result.data?.createWebhookEndpoint.errors ?? [];
    if (result.error) return setProblem(result.error.message);
    if (errors.length) return setProblem(errors.map((e) => e.message).join('; '));
    setUrl('');
    reload();
  }

  return (
    <main>
      <h1>Endpoints</h1>
      <form className="inline" onSubmit={submit}>
        <label htmlFor="endpoint-url">Endpoint URL</label>
        <input
          id="endpoint-url"
          type="url"
          required
          value={url}
          onChange={(event) => setUrl(event.target.value)}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? 'endpoint-problem' : undefined}
        />
        <button type="submit" disabled={creation.fetching}>
          Add endpoint
        </button>
        {problem && (
          <p id="endpoint-problem" className="error" role="alert">
            {problem}
          </p>
        )}
      </form>
      {fetching && !data ? (
        <Loading what="endpoints" />
      ) : error ? (
        <ErrorState error={error} />
      ) : !data?.webhookEndpoints.length ? (
        <Empty>No endpoints yet: add the URL of your email tool, CRM, Zapier or backend.</Empty>
      ) : (
        data.webhookEndpoints.map((endpoint) => <EndpointCard key={endpoint.id} endpoint={endpoint} changed={reload} />)
      )}
    </main>
  );
}
