/** What a sample move's delivery would send to an endpoint, rendered for its format (its credentials masked); nothing is sent. */
import { useQuery } from 'urql';
import { graphql } from '../../gql/index.ts';
import { ErrorState, Loading } from '../../states.tsx';

const PreviewQuery = graphql(`
  query EndpointRequestPreview($id: ID!) {
    node(id: $id) {
      ... on WebhookEndpoint {
        requestPreview {
          calls {
            method
            url
            headers {
              name
              value
            }
            body
          }
          error
        }
      }
    }
  }
`);

export function RequestPreview({ endpointId }: { endpointId: string }) {
  const [{ data, fetching, error }] = useQuery({ query: PreviewQuery, variables: { id: endpointId }, requestPolicy: 'network-only' });
  if (fetching && !data) return <Loading what="the request" />;
  if (error) return <ErrorState error={error} />;
  const preview = data?.node && 'requestPreview' in data.node ? data.node.requestPreview : null;
  if (!preview) return null;
  return (
    <section className="request-preview" aria-label="The request a sample move would send">
      <p className="hint">A sample move (exploring → found value) as this endpoint would receive it; nothing is sent.</p>
      {preview.error && (
        <p className="error" role="alert">
          {preview.error}
        </p>
      )}
      {preview.calls.map((call, index) => (
        <pre key={index} tabIndex={0}>
          <code>{`${call.method} ${call.url}\n${call.headers.map((header) => `${header.name}: ${header.value}`).join('\n')}\n\n${prettyJson(call.body)}`}</code>
        </pre>
      ))}
    </section>
  );
}

function prettyJson(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}
