/**
 * Settings: aha events and rules (event, property, equals, count), conversion events, the three
 * durations entered as people say them ("3 days") and shown back, the event allow-list, the
 * browser origins and the rate limit. Every problem is shown at its field, the API's included.
 */
import { useParams, useSearchParams } from 'react-router';
import { useFieldArray, useForm, type FieldPath } from 'react-hook-form';
import { useEffect, useState } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { humanDuration, toIsoDuration } from '../durations.ts';
import { commaList, Field, Problem } from '../field.tsx';
import { graphql } from '../gql/index.ts';
import type { PreviewSettingsQuery, SettingsQuery as SettingsData } from '../gql/graphql.ts';
import { segmentLabel } from '../segments.ts';
import { ErrorState, Loading } from '../states.tsx';

const SettingsQuery = graphql(`
  query Settings($appId: ID!) {
    segmentSettings(appId: $appId) {
      ahaEvents
      ahaRules {
        event
        property
        equals
        count
      }
      conversionEvents
      eventAllowList
      allowedOrigins
      rateLimitPerSecond
      accountAhaMembers
      inactivityAfter
      endingSoonBefore
      lastChanceBefore
    }
  }
`);

const SaveSettings = graphql(`
  mutation SaveSettings($input: UpdateSegmentSettingsInput!) {
    updateSegmentSettings(input: $input) {
      settings {
        inactivityAfter
        endingSoonBefore
        lastChanceBefore
      }
      errors {
        field
        message
      }
    }
  }
`);

const PreviewSettings = graphql(`
  query PreviewSettings($input: UpdateSegmentSettingsInput!) {
    previewSegmentSettings(input: $input) {
      evaluated
      unchanged
      moves {
        from
        to
        trials
        sample
      }
      errors {
        field
        message
      }
    }
  }
`);

type Preview = NonNullable<PreviewSettingsQuery['previewSegmentSettings']>;

/** What saving would do, before saving: the API's preview of the durations typed (nothing is saved). */
function PreviewResult({ preview }: { preview: Preview }) {
  const moving = preview.moves.reduce((sum, move) => sum + move.trials, 0);
  return (
    <div className="preview" role="status" aria-label="Preview">
      <p>
        Saving would move <strong>{moving}</strong> of {preview.evaluated} open trials now ({preview.unchanged} stay where they are).
      </p>
      {moving > 0 && (
        <table aria-label="Moves the new settings would make">
          <thead>
            <tr>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">Trials</th>
              <th scope="col">For example</th>
            </tr>
          </thead>
          <tbody>
            {preview.moves.map((move) => (
              <tr key={`${move.from}>${move.to}`}>
                <td>{segmentLabel(move.from)}</td>
                <td>{segmentLabel(move.to)}</td>
                <td>{move.trials}</td>
                <td>{move.sample.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

const DURATIONS = [
  { field: 'inactivityAfter', label: 'A user is quiet after' },
  { field: 'endingSoonBefore', label: 'The trial is ending soon' },
  { field: 'lastChanceBefore', label: 'Last chance' },
] as const;

interface Values {
  ahaEvents: string;
  ahaRules: Array<{ event: string; property: string; equals: string; count: string }>;
  conversionEvents: string;
  eventAllowList: string;
  allowedOrigins: string;
  rateLimitPerSecond: string;
  accountAhaMembers: string;
  inactivityAfter: string;
  endingSoonBefore: string;
  lastChanceBefore: string;
}

const FIELDS = new Set<string>([
  'ahaEvents',
  'ahaRules',
  'conversionEvents',
  'eventAllowList',
  'allowedOrigins',
  'rateLimitPerSecond',
  'accountAhaMembers',
  ...DURATIONS.map((d) => d.field),
]);

/** Where an API field path is shown: a rule's own field (ahaRules.0.count), else the field it starts with (ahaEvents.0). */
function formField(path: string | null | undefined): FieldPath<Values> | 'root' {
  const parts = (path ?? '').split('.');
  if (parts[0] === 'ahaRules' && parts.length === 3 && ['event', 'property', 'equals', 'count'].includes(parts[2]!)) return path as FieldPath<Values>;
  return FIELDS.has(parts[0]!) ? (parts[0] as FieldPath<Values>) : 'root';
}

function valuesOf(settings: SettingsData['segmentSettings']): Values {
  return {
    ahaEvents: settings.ahaEvents.join(', '),
    ahaRules: settings.ahaRules.map((rule) => ({ event: rule.event, property: rule.property ?? '', equals: rule.equals ?? '', count: String(rule.count) })),
    conversionEvents: settings.conversionEvents.join(', '),
    eventAllowList: (settings.eventAllowList ?? []).join(', '),
    allowedOrigins: (settings.allowedOrigins ?? []).join(', '),
    rateLimitPerSecond: String(settings.rateLimitPerSecond),
    accountAhaMembers: String(settings.accountAhaMembers),
    inactivityAfter: humanDuration(settings.inactivityAfter),
    endingSoonBefore: humanDuration(settings.endingSoonBefore),
    lastChanceBefore: humanDuration(settings.lastChanceBefore),
  };
}

function SettingsForm({ appId, settings, proposedAha }: { appId: string; settings: SettingsData['segmentSettings']; proposedAha: string | null }) {
  const [, save] = useMutation(SaveSettings);
  // From the signal queue's "make this the aha event": the event added to the aha events, not yet saved.
  const initial = valuesOf(
    proposedAha && !settings.ahaEvents.includes(proposedAha) ? { ...settings, ahaEvents: [...settings.ahaEvents, proposedAha] } : settings,
  );
  const { register, control, handleSubmit, setError, setValue, getValues, clearErrors, formState } = useForm<Values>({ defaultValues: initial });
  const client = useClient();
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewing, setPreviewing] = useState(false);

  /** The durations typed, as the API takes them; each one that is no duration is said at its field. */
  function durationsTyped(values: Values): Record<string, string> | null {
    const durations: Record<string, string> = {};
    let refused = false;
    for (const { field } of DURATIONS) {
      const iso = toIsoDuration(values[field]);
      if (iso) durations[field] = iso;
      else {
        setError(field, { message: `"${values[field]}" is not a duration: say it as "3 days", "12 hours" or "30 seconds"` });
        refused = true;
      }
    }
    return refused ? null : durations;
  }

  /** Account trials' members bar, a whole number; said at its field when it is not one. */
  function membersTyped(values: Values): number | null {
    if (/^\d+$/.test(values.accountAhaMembers.trim())) return Number(values.accountAhaMembers.trim());
    setError('accountAhaMembers', { message: `"${values.accountAhaMembers}" is not a number of members` });
    return null;
  }

  async function showPreview() {
    clearErrors();
    setPreview(null);
    const durations = durationsTyped(getValues());
    if (!durations) return;
    setPreviewing(true);
    const members = membersTyped(getValues());
    if (members === null) return;
    const result = await client
      .query(
        PreviewSettings,
        { input: { appId, ahaEvents: commaList(getValues().ahaEvents), ...durations, accountAhaMembers: members } },
        { requestPolicy: 'network-only' },
      )
      .toPromise();
    setPreviewing(false);
    if (result.error) return setError('root', { message: result.error.message });
    const answer = result.data?.previewSegmentSettings;
    if (!answer) return;
    for (const problem of answer.errors) setError(formField(problem.field), { message: problem.message });
    if (!answer.errors.length) setPreview(answer);
  }
  // Arriving with a proposed aha event: what it would move is shown at once.
  useEffect(() => {
    if (proposedAha) void showPreview();
  }, []); // Once, on arrival.
  const rules = useFieldArray({ control, name: 'ahaRules' });
  const { errors, isSubmitting, isSubmitSuccessful } = formState;

  async function submit(values: Values) {
    setPreview(null);
    const durations = durationsTyped(values) ?? {};
    let refused = Object.keys(durations).length < DURATIONS.length;
    values.ahaRules.forEach((rule, index) => {
      if (rule.count.trim() !== '' && !/^\d+$/.test(rule.count.trim())) {
        setError(`ahaRules.${index}.count`, { message: `"${rule.count}" is not a number of times` });
        refused = true;
      }
    });
    const members = membersTyped(values);
    if (refused || members === null) return;
    const result = await save({
      input: {
        appId,
        ahaEvents: commaList(values.ahaEvents),
        ahaRules: values.ahaRules.map((rule) => ({
          event: rule.event.trim(),
          property: rule.property.trim() || null,
          equals: rule.equals === '' ? null : rule.equals,
          count: rule.count.trim() === '' ? null : Number(rule.count),
        })),
        conversionEvents: commaList(values.conversionEvents),
        eventAllowList: commaList(values.eventAllowList),
        allowedOrigins: commaList(values.allowedOrigins),
        rateLimitPerSecond: Number(values.rateLimitPerSecond),
        accountAhaMembers: members,
        ...durations,
      },
    });
    if (result.error) return setError('root', { message: result.error.message });
    const problems = result.data?.updateSegmentSettings.errors ?? [];
    for (const problem of problems) setError(formField(problem.field), { message: problem.message });
    const saved = result.data?.updateSegmentSettings.settings;
    // Shown back as people say them.
    if (!problems.length && saved) for (const { field } of DURATIONS) setValue(field, humanDuration(saved[field]));
  }

  const text = (name: Exclude<keyof Values, 'ahaRules'>, label: string, hint?: string) => (
    <Field id={`setting-${name}`} label={label} hint={hint} problem={errors[name]?.message}>
      <input {...register(name)} />
    </Field>
  );

  return (
    <form onSubmit={handleSubmit(submit)} noValidate>
      {proposedAha && (
        <p className="hint" role="note">
          From the signal queue: <strong>{proposedAha}</strong> added to the aha events below, not saved yet. The preview shows which open trials it would move
          now; save to make it so.
        </p>
      )}
      {text('ahaEvents', 'Aha events', 'Event names that show a user found value, separated by commas')}
      <fieldset className="rules">
        <legend>Aha rules: found value when an event, with a property equal to a value, happened this many times</legend>
        {!rules.fields.length && <p className="hint">No rules: any aha event once is enough.</p>}
        {rules.fields.map((rule, index) => {
          const problem = (part: 'event' | 'property' | 'equals' | 'count') => errors.ahaRules?.[index]?.[part]?.message;
          return (
            <div key={rule.id} className="rule-row" role="group" aria-label={`Rule ${index + 1}`}>
              <Field id={`rule-${index}-event`} label={`Rule ${index + 1} event`} problem={problem('event')}>
                <input {...register(`ahaRules.${index}.event`)} />
              </Field>
              <Field id={`rule-${index}-property`} label={`Rule ${index + 1} property`} hint="Dotted path, e.g. plan.tier" problem={problem('property')}>
                <input {...register(`ahaRules.${index}.property`)} />
              </Field>
              <Field id={`rule-${index}-equals`} label={`Rule ${index + 1} equals`} problem={problem('equals')}>
                <input {...register(`ahaRules.${index}.equals`)} />
              </Field>
              <Field id={`rule-${index}-count`} label={`Rule ${index + 1} count`} hint="Times; empty: once" problem={problem('count')}>
                <input inputMode="numeric" {...register(`ahaRules.${index}.count`)} />
              </Field>
              <button type="button" className="secondary" onClick={() => rules.remove(index)} aria-label={`Remove rule ${index + 1}`}>
                Remove
              </button>
            </div>
          );
        })}
        <button type="button" className="secondary" onClick={() => rules.append({ event: '', property: '', equals: '', count: '1' })}>
          Add a rule
        </button>
        <Problem message={errors.ahaRules?.message} />
      </fieldset>
      {text('conversionEvents', 'Conversion events', 'Event names that mean the user converted')}
      {text('accountAhaMembers', 'Members who must reach aha (account trials)', '1: a team has found value once one person did; 2 or more: once that many did')}
      {DURATIONS.map(({ field, label }) => (
        <div key={field}>{text(field, label, 'Say it as people do: "3 days", "12 hours", "30 seconds"')}</div>
      ))}
      {text('eventAllowList', 'Only these events count for segments', 'Empty: every event counts')}
      {text('allowedOrigins', 'Browser origins allowed to send events', 'Such as https://app.example.com, separated by commas; empty: any origin')}
      {text('rateLimitPerSecond', 'Events a second (rate limit)')}
      <Problem message={errors.root?.message} />
      <div className="actions">
        <button type="button" className="secondary" disabled={previewing} onClick={showPreview}>
          {previewing ? 'Looking…' : 'Preview what these settings would move'}
        </button>
        <button type="submit" disabled={isSubmitting}>
          {isSubmitting ? 'Saving…' : 'Save settings'}
        </button>
      </div>
      {preview && <PreviewResult preview={preview} />}
      {isSubmitSuccessful && (
        <p role="status" aria-live="polite">
          Saved: the app's open trials are being re-evaluated.
        </p>
      )}
    </form>
  );
}

export function Settings() {
  const { appId = '' } = useParams();
  const [searchParams] = useSearchParams();
  const [{ data, fetching, error }] = useQuery({ query: SettingsQuery, variables: { appId }, requestPolicy: 'network-only' });
  if (fetching && !data) return <Loading what="the settings" />;
  if (error) return <ErrorState error={error} />;
  if (!data) return null;
  return (
    <main>
      <h1>Settings</h1>
      <SettingsForm appId={appId} settings={data.segmentSettings} proposedAha={searchParams.get('aha')} />
    </main>
  );
}
