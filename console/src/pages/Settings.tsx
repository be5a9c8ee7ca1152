/**
 * Settings: aha and conversion events, the three durations entered as people say them
 * ("3 days") and shown back, the event allow-list and the rate limit. Every problem is shown
 * at its field, from the payload's errors.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { humanDuration, toIsoDuration } from '../durations.ts';
import { graphql } from '../gql/index.ts';
import { ErrorState, Loading } from '../states.tsx';

const SettingsQuery = graphql(`
  query Settings($appId: ID!) {
    segmentSettings(appId: $appId) {
      ahaEvents
      conversionEvents
      eventAllowList
      rateLimitPerSecond
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

const DURATIONS = [
  { field: 'inactivityAfter', label: 'A user is quiet after' },
  { field: 'endingSoonBefore', label: 'The trial is ending soon' },
  { field: 'lastChanceBefore', label: 'Last chance' },
] as const;

type Form = Record<'ahaEvents' | 'conversionEvents' | 'eventAllowList' | 'rateLimitPerSecond' | (typeof DURATIONS)[number]['field'], string>;

const names = (text: string) =>
  text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);

export function Settings() {
  const { appId = '' } = useParams();
  const [{ data, fetching, error }] = useQuery({ query: SettingsQuery, variables: { appId } });
  const [saving, save] = useMutation(SaveSettings);
  const [form, setForm] = useState<Form | null>(null);
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    const settings = data?.segmentSettings;
    if (!settings || form) return;
    setForm({
      ahaEvents: settings.ahaEvents.join(', '),
      conversionEvents: settings.conversionEvents.join(', '),
      eventAllowList: (settings.eventAllowList ?? []).join(', '),
      rateLimitPerSecond: String(settings.rateLimitPerSecond),
      inactivityAfter: humanDuration(settings.inactivityAfter),
      endingSoonBefore: humanDuration(settings.endingSoonBefore),
      lastChanceBefore: humanDuration(settings.lastChanceBefore),
    });
  }, [data, form]);

  if (fetching && !data) return <Loading what="the settings" />;
  if (error) return <ErrorState error={error} />;
  if (!form) return null;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const local: Record<string, string> = {};
    const durations: Record<string, string> = {};
    for (const { field } of DURATIONS) {
      const iso = toIsoDuration(form![field]);
      if (iso) durations[field] = iso;
      else local[field] = `"${form![field]}" is not a duration: say it as "3 days", "12 hours" or "30 seconds"`;
    }
    if (Object.keys(local).length) return setProblems(local);
    const result = await save({
      input: {
        appId,
        ahaEvents: names(form!.ahaEvents),
        conversionEvents: names(form!.conversionEvents),
        eventAllowList: names(form!.eventAllowList),
        rateLimitPerSecond: Number(form!.rateLimitPerSecond),
        ...durations,
      },
    });
    if (result.error) return setProblems({ form: result.error.message });
    const errors = result.data?.updateSegmentSettings.errors ?? [];
    // A field path such as ahaEvents.0 belongs to its field.
    setProblems(Object.fromEntries(errors.map((e) => [(e.field ?? 'form').split('.')[0]!, e.message])));
    const settings = result.data?.updateSegmentSettings.settings;
    if (!errors.length && settings) {
      setForm({
        ...form!,
        inactivityAfter: humanDuration(settings.inactivityAfter),
        endingSoonBefore: humanDuration(settings.endingSoonBefore),
        lastChanceBefore: humanDuration(settings.lastChanceBefore),
      });
      setSaved(true);
    }
  }

  const field = (name: keyof Form, label: string, hint?: string) => (
    <div className="field">
      <label htmlFor={`setting-${name}`}>{label}</label>
      <input
        id={`setting-${name}`}
        value={form[name]}
        onChange={(event) => setForm({ ...form, [name]: event.target.value })}
        aria-invalid={problems[name] ? true : undefined}
        aria-describedby={problems[name] ? `problem-${name}` : hint ? `hint-${name}` : undefined}
      />
      {hint && !problems[name] && (
        <p id={`hint-${name}`} className="hint">
          {hint}
        </p>
      )}
      {problems[name] && (
        <p id={`problem-${name}`} className="error" role="alert">
          {problems[name]}
        </p>
      )}
    </div>
  );

  return (
    <main>
      <h1>Settings</h1>
      <form onSubmit={submit}>
        {field('ahaEvents', 'Aha events', 'Event names that show a user found value, separated by commas')}
        {field('conversionEvents', 'Conversion events', 'Event names that mean the user converted')}
        {DURATIONS.map(({ field: name, label }) => field(name, label, 'Say it as people do: "3 days", "12 hours", "30 seconds"'))}
        {field('eventAllowList', 'Only these events count for segments', 'Empty: every event counts')}
        {field('rateLimitPerSecond', 'Events a second (rate limit)')}
        {problems.form && (
          <p className="error" role="alert">
            {problems.form}
          </p>
        )}
        <button type="submit" disabled={saving.fetching}>
          {saving.fetching ? 'Saving…' : 'Save settings'}
        </button>
        {saved && (
          <p role="status" aria-live="polite">
            Saved: the app's open trials are being re-evaluated.
          </p>
        )}
      </form>
    </main>
  );
}
