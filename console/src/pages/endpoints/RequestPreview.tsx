/**
 * What a sample move's delivery would send to an endpoint, rendered for its format (its
 * credentials masked); nothing is sent. For a saved endpoint (its card), or for one as drafted
 * in the endpoint form, before it is saved.
 */
import { useQuery } from 'urql';
import { graphql } from '../../gql/index.ts';
import type { RequestPreviewFieldsFragment } from '../../gql/graphql.ts';
import { ErrorState, Loading } from '../../states.tsx';
import type { EndpointInput } from './endpoint-values.ts';

graphql(`
  fragment RequestPreviewFields on RequestPreview {
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
`);

const SavedPreviewQuery = graphql(`
  query EndpointRequestPreview($id: ID!) {
    node(id: $id) {
      ... on WebhookEndpoint {
        requestPreview {
          ...RequestPreviewFields
        }
      }
    }
  }
`);

const DraftPreviewQuery = graphql(`
  query DraftRequestPreview($input: WebhookEndpointDraftInput!) {
    webhookRequestPreview(input: $input) {
      ...RequestPreviewFields
    }
  }
`);

export function SavedRequestPreview({ endpointId }: { endpointId: string }) {
  const [{ data, fetching, error }] = useQuery({ query: SavedPreviewQuery, variables: { id: endpointId }, requestPolicy: 'network-only' });
  if (fetching && !data) return <Loading what="the request" />;
  if (error) return <ErrorState error={error} />;
  const preview = data?.node && 'requestPreview' in data.node ? data.node.requestPreview : null;
  return preview && <PreviewedRequest preview={preview} />;
}

/** `input`: the form's values as the API takes them; `endpointId`: the saved endpoint they change, if any. */
export function DraftRequestPreview({ appId, endpointId, input }: { appId: string; endpointId?: string; input: EndpointInput }) {
  const [{ data, fetching, error }] = useQuery({
    query: DraftPreviewQuery,
    variables: { input: { ...input, appId, ...(endpointId ? { endpointId } : {}) } },
    requestPolicy: 'network-only',
  });
  if (fetching && !data) return <Loading what="the request" />;
  if (error) return <ErrorState error={error} />;
  return data && <PreviewedRequest preview={data.webhookRequestPreview} />;
}

function PreviewedRequest({ preview }: { preview: RequestPreviewFieldsFragment }) {
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
