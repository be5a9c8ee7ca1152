/** Apps: the list, and a new app whose write key, server token and API key are shown once. */
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { CopyField } from '../copy-field.tsx';
import { createdSecrets } from '../created-secrets.ts';
import { graphql } from '../gql/index.ts';
import type { CreateAppMutation } from '../gql/graphql.ts';
import { Empty, ErrorState, Loading } from '../states.tsx';

const AppsQuery = graphql(`
  query Apps {
    apps {
      id
      name
      createdAt
    }
  }
`);

const CreateApp = graphql(`
  mutation CreateApp($input: CreateAppInput!) {
    createApp(input: $input) {
      app {
        id
        name
      }
      writeKey
      serverToken
      apiKey
      errors {
        field
        message
      }
    }
  }
`);

function CreatedSecrets({ created }: { created: NonNullable<CreateAppMutation['createApp']> }) {
  return (
    <section className="created" aria-labelledby="created-title">
      <h2 id="created-title">{created.app?.name} is ready</h2>
      <p className="warning" role="note">
        These are shown once and never again: copy them now. Only their hashes are kept.
      </p>
      <CopyField label="Write key" value={created.writeKey ?? ''} />
      <CopyField label="Server token" value={created.serverToken ?? ''} />
      <CopyField label="API key" value={created.apiKey ?? ''} />
      <p>
        Next: <Link to={`/apps/${created.app?.id}/connect`}>connect {created.app?.name}</Link>.
      </p>
    </section>
  );
}

export function Apps() {
  const [{ data, fetching, error }, reload] = useQuery({ query: AppsQuery });
  const [creation, createApp] = useMutation(CreateApp);
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [created, setCreated] = useState<NonNullable<CreateAppMutation['createApp']> | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    const result = await createApp({ input: { name } });
    const payload = result.data?.createApp;
    if (result.error) return setProblem(result.error.message);
    if (payload?.errors.length) return setProblem(payload.errors.map((e) => e.message).join('; '));
    if (payload?.app && payload.writeKey && payload.serverToken)
      createdSecrets.remember(payload.app.id, { writeKey: payload.writeKey, serverToken: payload.serverToken });
    setCreated(payload ?? null);
    setName('');
    reload({ requestPolicy: 'network-only' });
  }

  return (
    <main>
      <h1>Apps</h1>
      <form className="inline" onSubmit={submit}>
        <label htmlFor="app-name">New app's name</label>
        <input
          id="app-name"
          value={name}
          required
          maxLength={100}
          onChange={(event) => setName(event.target.value)}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? 'app-problem' : undefined}
        />
        <button type="submit" disabled={creation.fetching || name.trim() === ''}>
          {creation.fetching ? 'Creating…' : 'Create app'}
        </button>
        {problem && (
          <p id="app-problem" className="error" role="alert">
            {problem}
          </p>
        )}
      </form>
      {created && <CreatedSecrets created={created} />}
      {fetching && !data ? (
        <Loading what="apps" />
      ) : error ? (
        <ErrorState error={error} />
      ) : !data?.apps.length ? (
        <Empty>No apps yet: create the first one above.</Empty>
      ) : (
        <table>
          <caption>Your apps</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Created</th>
              <th scope="col">Pages</th>
            </tr>
          </thead>
          <tbody>
            {data.apps.map((app) => (
              <tr key={app.id}>
                <td>{app.name}</td>
                <td>
                  <code>{app.id}</code>
                </td>
                <td>{new Date(app.createdAt).toLocaleString()}</td>
                <td>
                  <Link to={`/apps/${app.id}/connect`} aria-label={`Connect ${app.name}`}>
                    Connect
                  </Link>{' '}
                  <Link to={`/apps/${app.id}/signals`} aria-label={`Signals of ${app.name}`}>
                    Signals
                  </Link>{' '}
                  <Link to={`/apps/${app.id}/trials`} aria-label={`Trials of ${app.name}`}>
                    Trials
                  </Link>{' '}
                  <Link to={`/apps/${app.id}/keys`} aria-label={`API keys of ${app.name}`}>
                    API keys
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
