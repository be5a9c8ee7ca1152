/** Connect: copy-paste setups with this host and the app filled in, and a panel that turns live when the first event arrives. */
import { useEffect } from 'react';
import { useParams } from 'react-router';
import { useQuery } from 'urql';
import { createdSecrets } from '../created-secrets.ts';
import { graphql } from '../gql/index.ts';
import { ErrorState } from '../states.tsx';
import { IntegrationSecrets } from './IntegrationSecrets.tsx';

const FirstEvents = graphql(`
  query FirstEvents($appId: ID!) {
    signalQueue(appId: $appId) {
      type
      event
      count
      lastSeen
    }
  }
`);

function Snippet({ title, code }: { title: string; code: string }) {
  const id = `snippet-${title.toLowerCase().replaceAll(/[^a-z]+/g, '-')}`;
  return (
    <section className="snippet" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <pre tabIndex={0}>
        <code>{code}</code>
      </pre>
      <button type="button" onClick={() => navigator.clipboard.writeText(code).catch(() => undefined)} aria-label={`Copy the ${title} setup`}>
        Copy
      </button>
    </section>
  );
}

export function Connect() {
  const { appId = '' } = useParams();
  const host = location.origin;
  const secrets = createdSecrets.of(appId);
  const writeKey = secrets?.writeKey ?? 'WRITE_KEY';
  const serverToken = secrets?.serverToken ?? 'SERVER_TOKEN';
  const [{ data, error }, refetch] = useQuery({ query: FirstEvents, variables: { appId } });
  const received = data?.signalQueue ?? [];
  // Until the first event arrives, look again every two seconds.
  useEffect(() => {
    if (received.length) return;
    const timer = setInterval(() => refetch({ requestPolicy: 'network-only' }), 2000);
    return () => clearInterval(timer);
  }, [received.length, refetch]);

  return (
    <main>
      <h1>Connect</h1>
      {!secrets && <p className="hint">Replace WRITE_KEY and SERVER_TOKEN with the keys shown when the app was created.</p>}
      <div className="waiting" role="status" aria-live="polite">
        {error ? (
          <ErrorState error={error} />
        ) : received.length ? (
          <p>
            <strong>Events are arriving.</strong> First seen: {received.map((signal) => signal.event ?? signal.type).join(', ')}.
          </p>
        ) : (
          <p>Waiting for your first event…</p>
        )}
      </div>
      <Snippet
        title="Node"
        code={`import { Analytics } from '@segment/analytics-node';\nconst analytics = new Analytics({ writeKey: '${writeKey}', host: '${host}' });\nanalytics.identify({ userId: 'user-42', traits: { email: 'ada@example.com', trial_end: '2030-01-31T00:00:00Z' } });\nanalytics.track({ userId: 'user-42', event: 'Report Viewed' });`}
      />
      <Snippet
        title="Browser"
        code={`import { AnalyticsBrowser } from '@segment/analytics-next';\nconst analytics = AnalyticsBrowser.load(\n  { writeKey: '${writeKey}', cdnURL: '${host}' },\n  { integrations: { 'Segment.io': { apiHost: '${location.host}/v1', protocol: '${location.protocol.replace(':', '')}' } } },\n);\nanalytics.track('Report Viewed');`}
      />
      <Snippet
        title="curl"
        code={`curl -u '${writeKey}:' -H 'content-type: application/json' ${host}/v1/track \\\n  -d '{"userId":"user-42","event":"Report Viewed"}'`}
      />
      <Snippet
        title="B2B: account trials"
        code={`// A workspace's trial: its people join with a group call (traits with trial_end start the account's trial) …\nanalytics.group({ userId: 'user-42', groupId: 'acme', traits: { name: 'Acme', trial_end: '2030-01-31T00:00:00Z' } });\n// … and their events name the account they happen in (counted for that account only).\nanalytics.track({ userId: 'user-42', event: 'Report Viewed', context: { groupId: 'acme' } });\n// Stripe: put the account on the subscription, metadata: { account_id: 'acme' }`}
      />
      <Snippet
        title="Segment Webhooks destination"
        code={`URL: ${host}/hooks/segment/${writeKey}\nShared secret: the one you choose in Segment, saved below`}
      />
      <Snippet
        title="Stripe webhook"
        code={`Endpoint URL: ${host}/hooks/stripe/${appId}\nEvents: customer.subscription.created, .updated, .deleted\nSigning secret: the whsec_… Stripe shows for this endpoint, saved below`}
      />
      <IntegrationSecrets appId={appId} />
      <Snippet
        title="Server to server (Usermaven style)"
        code={`curl -X POST '${host}/api/v1/s2s/event?token=${writeKey}.${serverToken}' -H 'content-type: application/json' \\\n  -d '{"api_key":"${writeKey}","event_type":"Report Viewed","user":{"id":"user-42"}}'`}
      />
    </main>
  );
}
