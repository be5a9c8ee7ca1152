/**
 * The signal queue: every event name the app has sent, with counts per day and its lift on
 * conversion among finished trials; one click makes one an aha or a conversion event, or proposes
 * it as the aha event with a preview of what it would move.
 */
import { useState } from 'react';
import { useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql/index.ts';
import { Empty, ErrorState, Loading } from '../states.tsx';
import { ConversionLift } from './signals/ConversionLift.tsx';

const SignalsQuery = graphql(`
  query Signals($appId: ID!, $days: Int!, $from: DateTime!, $to: DateTime!) {
    signalQueue(appId: $appId) {
      type
      event
      count
      firstSeen
      lastSeen
    }
    eventVolume(appId: $appId, days: $days) {
      type
      event
      day
      count
    }
    segmentSettings(appId: $appId) {
      ahaEvents
      conversionEvents
    }
    conversionDrivers(appId: $appId, from: $from, to: $to) {
      finishedTrials
      drivers {
        event
        trialsWith
        difference
        low
        high
        qValue
        tooFew
      }
    }
  }
`);

/** The trials whose lift is measured: those started in the last 90 days (that have finished). */
const LIFT_DAYS = 90;

/** The days drawn for each event, today (UTC, as the API counts) last. */
const DAYS = 14;

function lastDays(): string[] {
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  return Array.from({ length: DAYS }, (_, index) => new Date(today - (DAYS - 1 - index) * 86_400_000).toISOString().slice(0, 10));
}

/** Bars of an event's daily counts, each also said in words (hidden from sight, read by screen readers and tests). */
function PerDay({ counts }: { counts: ReadonlyMap<string, number> }) {
  const days = lastDays();
  const highest = Math.max(1, ...days.map((day) => counts.get(day) ?? 0));
  return (
    <ol className="per-day" aria-label={`Per day, the last ${DAYS}`}>
      {days.map((day) => {
        const count = counts.get(day) ?? 0;
        return (
          <li key={day} title={`${day}: ${count}`} style={{ height: `${Math.max(2, (count / highest) * 100)}%` }} className={count ? undefined : 'none'}>
            <span className="visually-hidden">
              {day}: {count}
            </span>
          </li>
        );
      })}
    </ol>
  );
}

const MarkEvents = graphql(`
  mutation MarkEvents($input: UpdateSegmentSettingsInput!) {
    updateSegmentSettings(input: $input) {
      settings {
        ahaEvents
        conversionEvents
      }
      errors {
        field
        message
      }
    }
  }
`);

export function Signals() {
  const { appId = '' } = useParams();
  // Fixed for the page's life, so the query's variables (and its cache key) stay put.
  const [range] = useState(() => ({ from: new Date(Date.now() - LIFT_DAYS * 86_400_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() }));
  const [{ data, fetching, error }, refetch] = useQuery({ query: SignalsQuery, variables: { appId, days: DAYS, ...range } });
  const [marking, mark] = useMutation(MarkEvents);
  const settings = data?.segmentSettings;

  async function toggle(kind: 'ahaEvents' | 'conversionEvents', name: string) {
    if (!settings) return;
    const current = settings[kind];
    const next = current.includes(name) ? current.filter((event) => event !== name) : [...current, name];
    await mark({ input: { appId, [kind]: next } });
    refetch({ requestPolicy: 'network-only' });
  }

  if (fetching && !data) return <Loading what="the signal queue" />;
  if (error) return <ErrorState error={error} />;
  const signals = data?.signalQueue ?? [];
  const drivers = new Map((data?.conversionDrivers.drivers ?? []).map((driver) => [driver.event, driver]));
  const volume = new Map<string, Map<string, number>>();
  for (const row of data?.eventVolume ?? []) {
    const key = `${row.type}:${row.event ?? ''}`;
    volume.set(key, (volume.get(key) ?? new Map()).set(row.day, row.count));
  }
  return (
    <main>
      <h1>Signal queue</h1>
      {marking.error && <ErrorState error={marking.error} />}
      {!signals.length ? (
        <Empty>No events yet: send one from the Connect page's setups.</Empty>
      ) : (
        <table>
          <caption>Event names seen, most frequent first</caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Type</th>
              <th scope="col">Count</th>
              <th scope="col">Per day</th>
              <th scope="col">Last seen</th>
              <th scope="col">
                Conversion lift{' '}
                <small>
                  (finished trials of the last {LIFT_DAYS} days, {data?.conversionDrivers.finishedTrials ?? 0})
                </small>
              </th>
              <th scope="col">Segments</th>
            </tr>
          </thead>
          <tbody>
            {signals.map((signal) => {
              const name = signal.event;
              const aha = name !== null && name !== undefined && settings?.ahaEvents.includes(name);
              const conversion = name !== null && name !== undefined && settings?.conversionEvents.includes(name);
              return (
                <tr key={`${signal.type}:${name ?? ''}`}>
                  <td>{name ?? <em>(no name)</em>}</td>
                  <td>{signal.type}</td>
                  <td>{signal.count}</td>
                  <td>
                    <PerDay counts={volume.get(`${signal.type}:${name ?? ''}`) ?? new Map()} />
                  </td>
                  <td>{new Date(signal.lastSeen).toLocaleString()}</td>
                  <td>
                    {name && signal.type === 'track' && !conversion && (
                      <ConversionLift appId={appId} event={name} driver={drivers.get(name)} isAha={Boolean(aha)} />
                    )}
                  </td>
                  <td>
                    {name && signal.type === 'track' && (
                      <>
                        <button type="button" aria-pressed={aha} disabled={marking.fetching} onClick={() => toggle('ahaEvents', name)}>
                          {aha ? `${name} is an aha event` : `Mark ${name} as aha`}
                        </button>{' '}
                        <button type="button" aria-pressed={conversion} disabled={marking.fetching} onClick={() => toggle('conversionEvents', name)}>
                          {conversion ? `${name} is a conversion` : `Mark ${name} as conversion`}
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </main>
  );
}
