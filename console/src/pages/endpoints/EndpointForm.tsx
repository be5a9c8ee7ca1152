/**
 * An endpoint's settings, to create one or edit one: its format (signed webhooks or a
 * destination, with the credentials it needs, write-only), URL, description, event types, custom
 * headers, timeout, throttle, ordering, retry schedule and how long failing disables it; and the
 * request a sample move would make of what is typed, before it is saved. Every problem is shown
 * at its field, the API's included.
 */
import { useState } from 'react';
import { useFieldArray, useForm } from 'react-hook-form';
import { Field, Problem } from '../../field.tsx';
import { DraftRequestPreview } from './RequestPreview.tsx';
import {
  CREDENTIAL_LABELS,
  FORMATS,
  formField,
  initialValues,
  toEndpointInput,
  type EndpointInput,
  type EndpointSettings,
  type SaveResult,
  type Values,
} from './endpoint-values.ts';

export function EndpointForm({
  appId,
  idPrefix,
  endpoint,
  submitLabel,
  save,
  onCancel,
}: {
  appId: string;
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
  // The values last previewed, as the API takes them.
  const [draft, setDraft] = useState<EndpointInput | null>(null);

  async function submit(values: Values) {
    const made = toEndpointInput(values);
    if ('problem' in made) return setError(made.problem.field, { message: made.problem.message });
    const result = await save(made.input);
    if ('failure' in result) return setError('root', { message: result.failure });
    for (const error of result.errors) setError(formField(error.field), { message: error.message });
    if (!result.errors.length && !endpoint) reset(initialValues(undefined));
  }

  function preview(values: Values) {
    const made = toEndpointInput(values);
    if ('problem' in made) return setError(made.problem.field, { message: made.problem.message });
    setDraft(made.input);
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
        <button type="button" className="secondary" onClick={handleSubmit(preview)}>
          Preview before saving
        </button>
        {onCancel && (
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      {draft && <DraftRequestPreview appId={appId} endpointId={endpoint?.id} input={draft} />}
    </form>
  );
}
