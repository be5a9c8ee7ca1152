/**
 * The secrets inbound integrations sign with: Segment's shared secret and Stripe's signing
 * secret. Write-only: the page says which are set, never what they are.
 */
import { Problem } from '../field.tsx';
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql/index.ts';
import { ErrorState, Loading } from '../states.tsx';

const IntegrationsQuery = graphql(`
  query IntegrationsState($appId: ID!) {
    integrations(appId: $appId) {
      segmentSharedSecretSet
      stripeSigningSecretSet
    }
  }
`);

const SaveIntegrations = graphql(`
  mutation SaveIntegrations($input: UpdateIntegrationsInput!) {
    updateIntegrations(input: $input) {
      segmentSharedSecretSet
      stripeSigningSecretSet
      errors {
        field
        message
      }
    }
  }
`);

const SECRETS = [
  { field: 'segmentSharedSecret', set: 'segmentSharedSecretSet', label: 'Segment shared secret', checks: 'X-Signature of the Segment Webhooks destination' },
  { field: 'stripeSigningSecret', set: 'stripeSigningSecretSet', label: 'Stripe signing secret', checks: 'Stripe-Signature of the Stripe webhook' },
] as const;

type SecretField = (typeof SECRETS)[number]['field'];

export function IntegrationSecrets({ appId }: { appId: string }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: IntegrationsQuery, variables: { appId } });
  const [saving, save] = useMutation(SaveIntegrations);
  const [typed, setTyped] = useState<Record<SecretField, string>>({ segmentSharedSecret: '', stripeSigningSecret: '' });
  const [problems, setProblems] = useState<Partial<Record<SecretField | 'form', string>>>({});
  const [saved, setSaved] = useState<string | null>(null);

  async function submit(input: Partial<Record<SecretField, string>>, said: string) {
    setSaved(null);
    const result = await save({ input: { appId, ...input } });
    if (result.error) return setProblems({ form: result.error.message });
    const errors = result.data?.updateIntegrations.errors ?? [];
    setProblems(Object.fromEntries(errors.map((e) => [e.field ?? 'form', e.message])));
    if (!errors.length) {
      setTyped({ segmentSharedSecret: '', stripeSigningSecret: '' });
      setSaved(said);
      refetch({ requestPolicy: 'network-only' });
    }
  }

  const state = data?.integrations;
  return (
    <section aria-labelledby="integration-secrets">
      <h2 id="integration-secrets">Integration secrets</h2>
      {fetching && !data ? (
        <Loading what="the integration secrets" />
      ) : error ? (
        <ErrorState error={error} />
      ) : (
        <>
          {SECRETS.map(({ field, set, label, checks }) => (
            <form
              key={field}
              className="inline"
              onSubmit={(event: FormEvent) => {
                event.preventDefault();
                void submit({ [field]: typed[field] }, `${label} saved`);
              }}
            >
              <label htmlFor={`integration-${field}`}>{label}</label>
              <input
                id={`integration-${field}`}
                type="password"
                autoComplete="off"
                value={typed[field]}
                onChange={(event) => setTyped({ ...typed, [field]: event.target.value })}
                aria-invalid={problems[field] ? true : undefined}
                aria-describedby={`integration-${field}-state`}
              />
              <button type="submit" disabled={saving.fetching || typed[field] === ''}>
                Save
              </button>{' '}
              {state?.[set] && (
                <button type="button" className="secondary" onClick={() => submit({ [field]: '' }, `${label} removed`)}>
                  Remove the {label.toLowerCase()}
                </button>
              )}
              <p id={`integration-${field}-state`} className={problems[field] ? 'error' : 'hint'} role={problems[field] ? 'alert' : undefined}>
                {problems[field] ?? (state?.[set] ? `Set: the ${checks} is checked.` : `Not set: the ${checks} is not checked.`)}
              </p>
            </form>
          ))}
          <Problem message={problems.form} />
          {saved && (
            <p role="status" aria-live="polite">
              {saved}.
            </p>
          )}
        </>
      )}
    </section>
  );
}
