/**
 * One endpoint: its health, a test (the request sent and the response received), a preview of
 * the request a sample move would make (its format's), its signing
 * secret revealed on demand and rotated with the overlap shown, enable, disable, edit, delete,
 * and its delivery log.
 */
import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../../gql/index.ts';
import type { EndpointsQuery, SendTestMutation } from '../../gql/graphql.ts';
import { ErrorState } from '../../states.tsx';
import { DeliveryLog } from './DeliveryLog.tsx';
import { ReceivedResponse } from './ReceivedResponse.tsx';
import { SavedRequestPreview } from './RequestPreview.tsx';
import { HoldoutPanel } from './HoldoutPanel.tsx';
import { EndpointForm } from './EndpointForm.tsx';
import type { EndpointInput, SaveResult } from './endpoint-values.ts';

export type Endpoint = EndpointsQuery['webhookEndpoints'][number];

const UpdateEndpoint = graphql(`
  mutation UpdateEndpoint($input: UpdateWebhookEndpointInput!) {
    updateWebhookEndpoint(input: $input) {
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

const RotateSecret = graphql(`
  mutation RotateSecret($endpointId: ID!) {
    rotateWebhookSecret(endpointId: $endpointId) {
      endpoint {
        id
        secret
        previousSecretExpiresAt
      }
      errors {
        message
      }
    }
  }
`);

const DeleteEndpoint = graphql(`
  mutation DeleteEndpoint($input: DeleteWebhookEndpointInput!) {
    deleteWebhookEndpoint(input: $input) {
      deletedId
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
        deliveryId
        statusCode
        durationMs
        responseBody
        responseHeaders {
          name
          value
        }
        error
      }
      errors {
        message
      }
    }
  }
`);

const SentRequest = graphql(`
  query SentRequest($deliveryId: ID!) {
    node(id: $deliveryId) {
      ... on WebhookDelivery {
        id
        payload
      }
    }
  }
`);

type TestResult = NonNullable<SendTestMutation['sendTestWebhook']>;

function TestOutcome({ url, result }: { url: string; result: TestResult }) {
  const attempt = result.attempt;
  const [{ data }] = useQuery({ query: SentRequest, variables: { deliveryId: attempt?.deliveryId ?? '' }, pause: !attempt });
  const sent = data?.node && 'payload' in data.node ? data.node.payload : null;
  if (!attempt) return <p className="error">{result.errors.map((error) => error.message).join('; ')}</p>;
  return (
    <div className="exchange">
      <div>
        <h4>Request sent</h4>
        <p>
          <code>POST {url}</code>
          <br />
          <small>webhook-id: {attempt.deliveryId}</small>
        </p>
        {sent && <pre tabIndex={0}>{sent}</pre>}
      </div>
      <div>
        <h4>Response received</h4>
        <p>
          Answered {attempt.statusCode ?? 'nothing'} in {attempt.durationMs} ms{attempt.error ? `: ${attempt.error}` : ''}
        </p>
        <ReceivedResponse headers={attempt.responseHeaders} body={attempt.responseBody} />
      </div>
    </div>
  );
}

function health(endpoint: Endpoint): string {
  if (!endpoint.enabled) return `Disabled${endpoint.disabledReason ? `: ${endpoint.disabledReason}` : ''}`;
  if (endpoint.failingSince) return `Failing since ${new Date(endpoint.failingSince).toLocaleString()}`;
  return 'Healthy';
}

export function EndpointCard({ appId, endpoint, changed }: { appId: string; endpoint: Endpoint; changed: () => void }) {
  const [revealed, setRevealed] = useState(false);
  const [previewing, setPreviewing] = useState(false);
  const [holdingOut, setHoldingOut] = useState(false);
  const [editing, setEditing] = useState(false);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const [test, sendTest] = useMutation(SendTest);
  const [, update] = useMutation(UpdateEndpoint);
  const [rotation, rotate] = useMutation(RotateSecret);
  const [deletion, remove] = useMutation(DeleteEndpoint);
  const [result, setResult] = useState<TestResult | null>(null);
  const overlapUntil = rotation.data?.rotateWebhookSecret.endpoint?.previousSecretExpiresAt ?? endpoint.previousSecretExpiresAt;

  async function save(input: EndpointInput): Promise<SaveResult> {
    const outcome = await update({ input: { endpointId: endpoint.id, ...input } });
    if (outcome.error) return { failure: outcome.error.message };
    const errors = outcome.data?.updateWebhookEndpoint.errors ?? [];
    if (!errors.length) {
      setEditing(false);
      changed();
    }
    return { errors };
  }

  return (
    <article className="endpoint" aria-label={`Endpoint ${endpoint.url}`}>
      <h2>{endpoint.url}</h2>
      {endpoint.description && <p>{endpoint.description}</p>}
      <p>
        <span className={`health ${endpoint.enabled ? (endpoint.failingSince ? 'failing' : 'healthy') : 'disabled'}`} data-testid="health">
          {health(endpoint)}
        </span>{' '}
        · {endpoint.eventTypes.join(', ')} · timeout {endpoint.timeoutMs / 1000} s · {endpoint.maxPerSecond ? `at most ${endpoint.maxPerSecond}/s · ` : ''}
        {endpoint.ordered ? 'ordered' : 'unordered'} · {endpoint.retrySchedule.length} retries
        {endpoint.headers.length > 0 && <> · headers {endpoint.headers.map((header) => header.name).join(', ')}</>}
        {endpoint.holdout && <> · holdout running: {endpoint.holdout.percent} % held out</>}
      </p>
      <div className="actions">
        <button
          type="button"
          disabled={test.fetching}
          onClick={async () => setResult((await sendTest({ endpointId: endpoint.id })).data?.sendTestWebhook ?? null)}
        >
          {test.fetching ? 'Sending…' : 'Send a test webhook'}
        </button>
        <button type="button" aria-expanded={holdingOut} onClick={() => setHoldingOut(!holdingOut)}>
          {holdingOut ? 'Hide the holdout' : 'Holdout and its report'}
        </button>
        <button type="button" aria-expanded={previewing} onClick={() => setPreviewing(!previewing)}>
          {previewing ? 'Hide the request preview' : 'Preview the request'}
        </button>
        <button type="button" aria-expanded={revealed} onClick={() => setRevealed(!revealed)}>
          {revealed ? 'Hide the signing secret' : 'Reveal the signing secret'}
        </button>
        <button
          type="button"
          onClick={async () => {
            await update({ input: { endpointId: endpoint.id, enabled: !endpoint.enabled } });
            changed();
          }}
        >
          {endpoint.enabled ? 'Disable' : 'Enable'}
        </button>
        <button type="button" aria-expanded={editing} onClick={() => setEditing(!editing)}>
          Edit
        </button>
        {confirmingDelete ? (
          <>
            <button
              type="button"
              className="danger"
              disabled={deletion.fetching}
              onClick={async () => {
                await remove({ input: { endpointId: endpoint.id } });
                changed();
              }}
            >
              Delete {endpoint.url} and its delivery log
            </button>
            <button type="button" className="secondary" onClick={() => setConfirmingDelete(false)}>
              Keep it
            </button>
          </>
        ) : (
          <button type="button" className="secondary" onClick={() => setConfirmingDelete(true)}>
            Delete…
          </button>
        )}
      </div>
      {previewing && <SavedRequestPreview endpointId={endpoint.id} />}
      {holdingOut && <HoldoutPanel endpointId={endpoint.id} changed={changed} />}
      {revealed && (
        <div className="secret">
          <label htmlFor={`secret-${endpoint.id}`}>Signing secret</label>
          <input id={`secret-${endpoint.id}`} readOnly value={rotation.data?.rotateWebhookSecret.endpoint?.secret ?? endpoint.secret} />{' '}
          <button type="button" className="secondary" disabled={rotation.fetching} onClick={() => rotate({ endpointId: endpoint.id })}>
            Rotate the secret
          </button>
          {overlapUntil && (
            <p className="hint" role="status">
              The previous secret still signs beside this one until {new Date(overlapUntil).toLocaleString()}: each request carries both signatures, so move
              your receiver to the new secret before then.
            </p>
          )}
        </div>
      )}
      {editing && (
        <EndpointForm
          appId={appId}
          idPrefix={`edit-${endpoint.id}`}
          endpoint={endpoint}
          submitLabel="Save endpoint"
          save={save}
          onCancel={() => setEditing(false)}
        />
      )}
      {(test.error || rotation.error || deletion.error) && <ErrorState error={(test.error ?? rotation.error ?? deletion.error)!} />}
      {result && (
        <div className="test-result" role="status" aria-label="Test result">
          <TestOutcome url={endpoint.url} result={result} />
        </div>
      )}
      <DeliveryLog endpointId={endpoint.id} />
    </article>
  );
}
