/** The signal queue: every event name the app has sent, with counts; one click makes one an aha or a conversion event. */
import { useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { graphql } from '../gql/index.ts';
import { Empty, ErrorState, Loading } from '../states.tsx';

const SignalsQuery = graphql(`
  query Signals($appId: ID!) {
    signalQueue(appId: $appId) {
      type
      event
      count
      firstSeen
      lastSeen
    }
    segmentSettings(appId: $appId) {
      ahaEvents
      conversionEvents
    }
  }
`);

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
  const [{ data, fetching, error }, refetch] = useQuery({ query: SignalsQuery, variables: { appId } });
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
              <th scope="col">Last seen</th>
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
                  <td>{new Date(signal.lastSeen).toLocaleString()}</td>
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
