/** The console's GraphQL client (urql): queries and mutations over HTTP, subscriptions over graphql-ws, the session's token on both. */
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from 'urql';
import { createClient as createWsClient, type Sink, type SubscribePayload } from 'graphql-ws';

/**
 * Changes are recorded a little after their occurredAt and not always in that order, so a resumed
 * subscription asks again from this long before the newest change it received, and drops by id
 * what it had already.
 */
const RESUME_MARGIN_MS = 60_000;

/** A console stays open for hours: it reconnects for as long as it is open, waiting at most 10 s between tries. */
const retryWait = (retries: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(500 * 2 ** retries, 10_000) + Math.random() * 500));

interface Timed {
  id: string;
  occurredAt: string;
}

function isTimed(value: unknown): value is Timed {
  return typeof value === 'object' && value !== null && typeof (value as Timed).id === 'string' && typeof (value as Timed).occurredAt === 'string';
}

/**
 * A subscription whose operation declares `since` resumes where it was after a reconnect, with no
 * gap and no duplicate: graphql-ws sends the very same payload again when it reconnects, so
 * `since` is moved along with each change received, and a change replayed twice is dropped.
 */
function resumable<Result extends { data?: unknown }>(payload: SubscribePayload, sink: Sink<Result>): Sink<Result> {
  const variables = payload.variables;
  if (!variables || !('since' in variables)) return sink;
  const seen = new Map<string, number>();
  let newest = Number.NEGATIVE_INFINITY;
  return {
    ...sink,
    next(result) {
      const change = Object.values(result.data ?? {})[0] as unknown;
      if (!isTimed(change)) return sink.next(result);
      if (seen.has(change.id)) return;
      const at = Date.parse(change.occurredAt);
      seen.set(change.id, at);
      newest = Math.max(newest, at);
      const resumeFrom = newest - RESUME_MARGIN_MS;
      for (const [id, time] of seen) if (time < resumeFrom) seen.delete(id);
      variables.since = new Date(resumeFrom).toISOString();
      sink.next(result);
    },
  };
}

export function createApiClient(token: string): Client {
  const ws = createWsClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: true,
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait,
  });
  return new Client({
    url: '/graphql',
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => {
            const payload: SubscribePayload = { ...request, query: request.query ?? '', variables: { ...request.variables } };
            return { unsubscribe: ws.subscribe(payload, resumable(payload, sink)) };
          },
        }),
      }),
    ],
  });
}
