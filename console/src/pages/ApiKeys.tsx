/** An app's API keys: create one (its secret shown once), revoke one (it stops working at once, sockets included). */
import { useState, type FormEvent } from 'react';
import { useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { CopyField } from '../copy-field.tsx';
import { graphql } from '../gql/index.ts';
import { Empty, ErrorState, Loading } from '../states.tsx';

const ApiKeysQuery = graphql(`
  query ApiKeys($appId: ID!) {
    apiKeys(appId: $appId) {
      id
      name
      createdAt
      revokedAt
    }
  }
`);

const CreateApiKey = graphql(`
  mutation CreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      apiKey {
        id
        name
      }
      secret
      errors {
        field
        message
      }
    }
  }
`);

const RevokeApiKey = graphql(`
  mutation RevokeApiKey($input: RevokeApiKeyInput!) {
    revokeApiKey(input: $input) {
      apiKey {
        id
        revokedAt
      }
      errors {
        message
      }
    }
  }
`);

export function ApiKeys() {
  const { appId = '' } = useParams();
  const [{ data, fetching, error }, refetch] = useQuery({ query: ApiKeysQuery, variables: { appId } });
  const [creation, create] = useMutation(CreateApiKey);
  const [revocation, revoke] = useMutation(RevokeApiKey);
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const reload = () => refetch({ requestPolicy: 'network-only' });

  async function submit(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    const result = await create({ input: { appId, name: name.trim() } });
    const payload = result.data?.createApiKey;
    if (result.error) return setProblem(result.error.message);
    if (payload?.errors.length) return setProblem(payload.errors.map((e) => e.message).join('; '));
    if (payload?.secret && payload.apiKey) setCreated({ name: payload.apiKey.name, secret: payload.secret });
    setName('');
    reload();
  }

  const keys = data?.apiKeys ?? [];
  return (
    <main>
      <h1>API keys</h1>
      <p className="hint">A key reads and changes this app only, over HTTP and live subscriptions; revoked, it stops working at once.</p>
      <form className="inline" onSubmit={submit}>
        <label htmlFor="key-name">New key's name</label>
        <input
          id="key-name"
          value={name}
          required
          maxLength={100}
          onChange={(event) => setName(event.target.value)}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? 'key-problem' : undefined}
        />
        <button type="submit" disabled={creation.fetching || name.trim() === ''}>
          {creation.fetching ? 'Creating…' : 'Create key'}
        </button>
        {problem && (
          <p id="key-problem" className="error" role="alert">
            {problem}
          </p>
        )}
      </form>
      {created && (
        <section className="created" aria-label="New key">
          <p className="warning" role="note">
            The key {created.name} is shown once and never again: copy it now. Only its hash is kept.
          </p>
          <CopyField label="New API key" value={created.secret} />
        </section>
      )}
      {revocation.error && <ErrorState error={revocation.error} />}
      {fetching && !data ? (
        <Loading what="API keys" />
      ) : error ? (
        <ErrorState error={error} />
      ) : !keys.length ? (
        <Empty>No API keys: create one for your scripts or backend.</Empty>
      ) : (
        <table>
          <caption>Oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
              <th scope="col">State</th>
              <th scope="col">Revoke</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.id}>
                <td>{key.name}</td>
                <td>{new Date(key.createdAt).toLocaleString()}</td>
                <td>{key.revokedAt ? `Revoked ${new Date(key.revokedAt).toLocaleString()}` : 'Active'}</td>
                <td>
                  {!key.revokedAt &&
                    (confirming === key.id ? (
                      <>
                        <button
                          type="button"
                          className="danger"
                          disabled={revocation.fetching}
                          onClick={async () => {
                            await revoke({ input: { apiKeyId: key.id } });
                            setConfirming(null);
                            reload();
                          }}
                        >
                          Revoke {key.name} now
                        </button>{' '}
                        <button type="button" className="secondary" onClick={() => setConfirming(null)}>
                          Keep it
                        </button>
                      </>
                    ) : (
                      <button type="button" className="secondary" onClick={() => setConfirming(key.id)}>
                        Revoke {key.name}…
                      </button>
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
