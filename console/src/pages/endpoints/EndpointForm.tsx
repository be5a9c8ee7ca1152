/**
 * An endpoint's settings, to create one or edit one: its format (signed webhooks or a
 * destination, with the credentials it needs, write-only), URL, description, event types, custom
 * headers, timeout, ordering, retry schedule and how long failing disables it. Durations are
 * typed as people say them; every problem is shown at its field, the API's included.
 */
import { useFieldArray, useForm, type FieldPath } from 'react-hook-form';
import { humanDuration, toIsoDuration } from '../../durations.ts';
import { commaList, Field, Problem } from '../../field.tsx';
import type { CreateWebhookEndpointInput, EndpointFormat } from '../../gql/graphql.ts';

/** Each format: its label, what its URL is, and the credentials it asks for (write-only). */
const FORMATS: Array<{ value: EndpointFormat; label: string; url: string; urlOptional?: boolean; credentials: Array<keyof Credentials> }> = [
  { value: 'standard', label: 'Signed webhooks (Standard Webhooks)', url: 'Endpoint URL', credentials: [] },
  { value: 'slack', label: 'Slack (incoming webhook)', url: 'Slack incoming-webhook URL', credentials: [] },
  {
    value: 'segment',
    label: 'Segment-compatible tracking API (Segment, RudderStack, another Trialcast)',
    url: 'Tracking API base URL',
    credentials: ['writeKey'],
  },
  { value: 'hubspot', label: 'HubSpot (contact or company properties)', url: 'HubSpot API URL', urlOptional: true, credentials: ['accessToken'] },
  { value: 'customerio', label: 'Customer.io (Track API)', url: 'Track API URL', urlOptional: true, credentials: ['siteId', 'apiKey'] },
  { value: 'template', label: 'Any HTTP API (a JSONata template of the body)', url: 'API URL', credentials: ['expression'] },
];

interface Credentials {
  writeKey: string;
  accessToken: string;
  siteId: string;
  apiKey: string;
  expression: string;
}

const CREDENTIAL_LABELS: Record<keyof Credentials, string> = {
  writeKey: 'Destination write key',
  accessToken: 'Private app access token',
  siteId: 'Site ID',
  apiKey: 'API key',
  expression: 'JSONata expression (the body, from the standard payload)',
};

export interface EndpointSettings {
  format: EndpointFormat;
  destinationSet: boolean;
  url: string;
  description?: string | null;
  eventTypes: string[];
  headers: Array<{ name: string; value: string }>;
  timeoutMs: number;
  maxPerSecond?: number | null;
  ordered: boolean;
  retrySchedule: string[];
  disableAfter: string;
}

interface Values extends Credentials {
  format: EndpointFormat;
  region: 'us' | 'eu';
  url: string;
  description: string;
  eventTypes: string;
  headers: Array<{ name: string; value: string }>;
  timeoutSeconds: string;
  maxPerSecond: string;
  ordered: boolean;
  retrySchedule: string;
  disableAfter: string;
}

export type EndpointInput = Omit<CreateWebhookEndpointInput, 'appId'>;
export type SaveResult = { errors: ReadonlyArray<{ field?: string | null; message: string }> } | { failure: string };

/** Where an API field path (timeoutMs, headers.0.name, retrySchedule.2) is shown in this form. */
function formField(path: string | null | undefined): FieldPath<Values> | 'root' {
  const [head] = (path ?? '').split('.');
  if (head === 'timeoutMs') return 'timeoutSeconds';
  if (head === 'maxPerSecond') return 'maxPerSecond';
  const [, credential] = (path ?? '').split('.');
  if (head === 'destination' && credential && credential in CREDENTIAL_LABELS) return credential as keyof Credentials;
  if (head === 'url' || head === 'description' || head === 'eventTypes' || head === 'headers' || head === 'retrySchedule' || head === 'disableAfter')
    return head;
  return 'root';
}

function initialValues(endpoint: EndpointSettings | undefined): Values {
  return {
    format: endpoint?.format ?? 'standard',
    // Write-only: empty keeps what is saved.
    writeKey: '',
    accessToken: '',
    siteId: '',
    apiKey: '',
    expression: '',
    region: 'us',
    url: endpoint?.url ?? '',
    description: endpoint?.description ?? '',
    eventTypes: (endpoint?.eventTypes ?? ['trial.segment_changed']).join(', '),
    headers: endpoint?.headers.map(({ name, value }) => ({ name, value })) ?? [],
    timeoutSeconds: endpoint ? String(endpoint.timeoutMs / 1000) : '15',
    maxPerSecond: endpoint?.maxPerSecond ? String(endpoint.maxPerSecond) : '',
    ordered: endpoint?.ordered ?? true,
    retrySchedule: endpoint ? endpoint.retrySchedule.map(humanDuration).join(', ') : '',
    disableAfter: endpoint ? humanDuration(endpoint.disableAfter) : '5 days',
  };
}

export function EndpointForm({
  idPrefix,
  endpoint,
  submitLabel,
  save,
  onCancel,
}: {
  idPrefix: string;
  endpoint?: EndpointSettings;
  submitLabel: string;
  save: (input: EndpointInput) => Promise<SaveResult>;
  onCancel?: () => void;
}) {
  const { register, control, handleSubmit, setError, reset, formState, watch } = useForm<Values>({ defaultValues: initialValues(endpoint) });
  const format = FORMATS.find((candidate) => candidate.value === watch('format')) ?? FORMATS[0]!;
  const headers = useFieldArray({ control, name: 'headers' });
  const { errors, isSubmitting } = formState;
  const id = (name: string) => `${idPrefix}-${name}`;

  async function submit(values: Values) {
    const schedule = commaList(values.retrySchedule).map((text) => [text, toIsoDuration(text)] as const);
    const badDelay = schedule.find(([, iso]) => iso === null);
    if (badDelay) return setError('retrySchedule', { message: `"${badDelay[0]}" is not a duration: say it as "5 seconds", "30 minutes" or "2 hours"` });
    const disableAfter = toIsoDuration(values.disableAfter);
    if (!disableAfter) return setError('disableAfter', { message: `"${values.disableAfter}" is not a duration: say it as "5 days" or "12 hours"` });
    const seconds = Number(values.timeoutSeconds);
    if (!Number.isFinite(seconds)) return setError('timeoutSeconds', { message: 'the timeout is a number of seconds, from 1 to 30' });
    const perSecond = values.maxPerSecond.trim() ? Number(values.maxPerSecond) : 0;
    if (!Number.isInteger(perSecond)) return setError('maxPerSecond', { message: 'the limit is a whole number of requests a second, from 1 to 1000' });
    const typed = Object.fromEntries(format.credentials.map((name) => [name, values[name].trim()]).filter(([, value]) => value));
    const result = await save({
      format: values.format,
      ...(Object.keys(typed).length ? { destination: { ...typed, ...(values.format === 'customerio' ? { region: values.region } : {}) } } : {}),
      // A destination's own API when left empty (HubSpot's; Customer.io's of the region).
      ...(values.url.trim() || !format.urlOptional ? { url: values.url.trim() } : {}),
      description: values.description.trim() || null,
      eventTypes: commaList(values.eventTypes),
      headers: values.headers.filter((header) => header.name.trim()).map((header) => ({ name: header.name.trim(), value: header.value })),
      timeoutMs: Math.round(seconds * 1000),
      // Empty: no throttle (0 removes a saved one).
      maxPerSecond: perSecond,
      ordered: values.ordered,
      // Left empty: the Standard Webhooks schedule.
      ...(schedule.length ? { retrySchedule: schedule.map(([, iso]) => iso!) } : {}),
      disableAfter,
    });
    if ('failure' in result) return setError('root', { message: result.failure });
    for (const error of result.errors) setError(formField(error.field), { message: error.message });
    if (!result.errors.length && !endpoint) reset(initialValues(undefined));
  }

  return (
    <form className="endpoint-form" onSubmit={handleSubmit(submit)} noValidate>
      <Field id={id('format')} label="Format" hint="What each move becomes: a signed webhook, or a message a tool takes as it is">
        <select {...register('format')}>
          {FORMATS.map((candidate) => (
            <option key={candidate.value} value={candidate.value}>
              {candidate.label}
            </option>
          ))}
        </select>
      </Field>
      <Field id={id('url')} label={format.url} hint={format.urlOptional ? "Empty: the service's own API" : undefined} problem={errors.url?.message}>
        <input type="url" {...register('url', { required: format.urlOptional ? false : 'the URL is required' })} />
      </Field>
      {format.credentials.map((name) => (
        <Field
          key={name}
          id={id(name)}
          label={CREDENTIAL_LABELS[name]}
          hint={endpoint?.destinationSet ? 'Saved (never shown); type a new one to replace it' : 'Kept sealed, never shown again'}
          problem={errors[name]?.message}
        >
          {name === 'expression' ? (
            <textarea rows={4} spellCheck={false} {...register(name)} />
          ) : (
            <input type="password" autoComplete="off" {...register(name)} />
          )}
        </Field>
      ))}
      {format.value === 'customerio' && (
        <Field id={id('region')} label="Customer.io region">
          <select {...register('region')}>
            <option value="us">US (track.customer.io)</option>
            <option value="eu">EU (track-eu.customer.io)</option>
          </select>
        </Field>
      )}
      <Field id={id('description')} label="Description" hint="Who receives it, e.g. HubSpot or our backend">
        <input {...register('description')} />
      </Field>
      <Field id={id('eventTypes')} label="Event types" hint="Separated by commas; * for every type" problem={errors.eventTypes?.message}>
        <input {...register('eventTypes')} />
      </Field>
      <fieldset className="headers">
        <legend>Custom headers</legend>
        {headers.fields.map((header, index) => (
          <div key={header.id} className="header-row">
            <Field id={id(`header-${index}-name`)} label={`Header ${index + 1} name`}>
              <input {...register(`headers.${index}.name`)} />
            </Field>
            <Field id={id(`header-${index}-value`)} label={`Header ${index + 1} value`}>
              <input {...register(`headers.${index}.value`)} />
            </Field>
            <button type="button" className="secondary" onClick={() => headers.remove(index)} aria-label={`Remove header ${index + 1}`}>
              Remove
            </button>
          </div>
        ))}
        <button type="button" className="secondary" onClick={() => headers.append({ name: '', value: '' })}>
          Add a header
        </button>
        <Problem message={errors.headers?.message} />
      </fieldset>
      <Field id={id('timeout')} label="Timeout (seconds)" hint="From 1 to 30" problem={errors.timeoutSeconds?.message}>
        <input inputMode="decimal" {...register('timeoutSeconds')} />
      </Field>
      <Field
        id={id('maxPerSecond')}
        label="At most (requests a second)"
        hint="A burst is spread out, in order; empty: as fast as moves come"
        problem={errors.maxPerSecond?.message}
      >
        <input inputMode="numeric" {...register('maxPerSecond')} />
      </Field>
      <label className="check">
        <input type="checkbox" {...register('ordered')} /> One trial's changes arrive in order (a later one waits while an earlier one is retried)
      </label>
      <Field
        id={id('retrySchedule')}
        label="Retry schedule"
        hint='Delays before each attempt, separated by commas, e.g. "5 seconds, 5 minutes, 2 hours"; empty: the Standard Webhooks schedule'
        problem={errors.retrySchedule?.message}
      >
        <input {...register('retrySchedule')} />
      </Field>
      <Field id={id('disableAfter')} label="Disable after failing for" problem={errors.disableAfter?.message}>
        <input {...register('disableAfter')} />
      </Field>
      <Problem message={errors.root?.message} />
      <div className="actions">
        <button type="submit" disabled={isSubmitting}>
          {isSubmitting ? 'Saving…' : submitLabel}
        </button>
        {onCancel && (
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
